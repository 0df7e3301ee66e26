-- deleteWorkflow refuses while executions are PENDING or RUNNING (WORKFLOW-007). The resolver
-- checks first, for a clear message; these triggers close the window between that check and the
-- delete, and the reverse one (an execution recorded for a workflow being deleted).
CREATE TRIGGER workflows_no_delete_while_running
BEFORE DELETE ON workflows
WHEN EXISTS (
  SELECT 1 FROM workflow_executions
  WHERE workflow_id = OLD.id AND status IN ('PENDING', 'RUNNING')
)
BEGIN
  SELECT RAISE(ABORT, 'WORKFLOW_HAS_LIVE_EXECUTIONS');
END;

CREATE TRIGGER workflow_executions_need_workflow
BEFORE INSERT ON workflow_executions
WHEN NOT EXISTS (SELECT 1 FROM workflows WHERE id = NEW.workflow_id AND tenant_id = NEW.tenant_id)
BEGIN
  SELECT RAISE(ABORT, 'WORKFLOW_NOT_FOUND');
END;
