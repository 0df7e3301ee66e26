import { fuzzFile } from './harness';

// Part 1 of 2 of the variables fuzz cases: see harness.ts.
fuzzFile('variables', 1);
