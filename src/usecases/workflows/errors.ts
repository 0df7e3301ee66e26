import { AppError } from '../../errors';

/** The errors workflow and execution use cases share (apart, so neither module imports the other). */

export function workflowNotFound(id: string): AppError {
  return new AppError('WORKFLOW-001', `Workflow ${id} does not exist`, { workflowId: id });
}
