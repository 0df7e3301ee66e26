import { fuzzFile } from './harness';

// Part 1 of 2 of the graphql-document fuzz cases: see harness.ts.
fuzzFile('graphql-document', 1);
