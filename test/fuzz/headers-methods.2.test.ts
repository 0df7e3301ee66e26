import { fuzzFile } from './harness';

// Part 2 of 2 of the headers-methods fuzz cases: see harness.ts.
fuzzFile('headers-methods', 2);
