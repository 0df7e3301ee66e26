// Part of `npm run codegen`: writes docs/errors.md, the table of every error code, from src/errors.ts.
import { writeFileSync } from 'node:fs';
import { ERRORS } from '../src/errors';
import { ERRORS_DOC_PATH, renderErrorsDoc } from './errorsDoc';

writeFileSync(ERRORS_DOC_PATH, renderErrorsDoc());
console.log(`wrote ${ERRORS_DOC_PATH}: ${Object.keys(ERRORS).length} error codes`);
