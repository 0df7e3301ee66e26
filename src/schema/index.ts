import { builder } from './builder';
// Fields are registered in import order, which is the order of the root fields and so of the MCP
// tools (mcp-tools.snapshot.json): keep it when adding an entity.
import './scalars';
import './enums';
import './change/queries';
import './change/review';
import './change/mutations';
import './standardChangeTemplate';
import './freezeWindow';
import './workflow';
import './workflowSecret';
import './egressPolicy';
import './audit';
import './auditDigest';
import './tenantExport';
import './compliance';
import './metrics';
import './service';
import './me';
import './apiKey';
import './webhook';
import './deployment';
import './retention';
import './live';
import './change/subscriptions';
import './execution/queries';
import './execution/wait';
import './execution/mutations';
import './execution/subscriptions';

/** The built schema: the single source of truth for GraphQL, the SDL and (later) MCP tools. */
export const schema = builder.toSchema({ sortSchema: false });
