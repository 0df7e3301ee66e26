import { fuzzFile } from './harness';

// Part 2 of 2 of the json-rpc fuzz cases: see harness.ts.
fuzzFile('json-rpc', 2);
