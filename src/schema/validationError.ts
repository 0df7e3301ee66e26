import type { ZodError } from 'zod';
import { AppError } from '../errors';

/** A zod failure as a VALIDATION_FAILED error that names each offending field. */
export function zodErrorToAppError(error: ZodError): AppError {
  const issues = error.issues.map((i) => ({
    field: i.path.map(String).join('.') || '(arguments)',
    message: i.message,
  }));
  const summary = issues.map((i) => `${i.field}: ${i.message}`).join('; ');
  return new AppError('VALIDATION_FAILED', `Invalid input: ${summary}`, { issues });
}
