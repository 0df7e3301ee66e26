import { fuzzFile } from './harness';

// Part 2 of 2 of the graphql-document fuzz cases: see harness.ts.
fuzzFile('graphql-document', 2);
