import { fuzzFile } from './harness';

// Part 2 of 2 of the variables fuzz cases: see harness.ts.
fuzzFile('variables', 2);
