// Part of `npm run codegen`: writes docs/configuration.md from the variables src/config.ts reads.
import { writeFileSync } from 'node:fs';
import { VARIABLES } from '../src/config';
import { CONFIGURATION_DOC_PATH, configurationDoc } from './configTable';

writeFileSync(CONFIGURATION_DOC_PATH, configurationDoc());
console.log(`wrote ${CONFIGURATION_DOC_PATH}: ${VARIABLES.length} variables`);
