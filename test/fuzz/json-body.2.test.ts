import { fuzzFile } from './harness';

// Part 2 of 2 of the json-body fuzz cases: see harness.ts.
fuzzFile('json-body', 2);
