import { fuzzFile } from './harness';

// Part 1 of 2 of the json-rpc fuzz cases: see harness.ts.
fuzzFile('json-rpc', 1);
