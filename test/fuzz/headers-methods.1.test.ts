import { fuzzFile } from './harness';

// Part 1 of 2 of the headers-methods fuzz cases: see harness.ts.
fuzzFile('headers-methods', 1);
