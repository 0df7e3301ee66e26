-- An execution that ended stays ended. The engine writes an execution's status and its audit
-- event in one batch (issue 15 item 2): if a second finisher (the watchdog abandoning it, a
-- replayed finish) reached an ended row, a guarded UPDATE that changed nothing would still leave
-- its audit event in the chain. Raising instead fails the whole batch, event included; the engine
-- re-reads and finds nothing left to do.
CREATE TRIGGER workflow_executions_end_is_final
BEFORE UPDATE OF status ON workflow_executions
WHEN OLD.status IN ('SUCCEEDED', 'FAILED', 'CANCELLED')
BEGIN
  SELECT RAISE(ABORT, 'EXECUTION_ALREADY_ENDED');
END;
