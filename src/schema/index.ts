import { builder } from './builder';
import './scalars';
import './enums';
import './change/queries';
import './change/mutations';
import './standardChangeTemplate';
import './freezeWindow';
import './workflow';
import './workflowSecret';
import './egressPolicy';
import './audit';
import './compliance';
import './metrics';
import './service';
import './me';
import './apiKey';
import './live';
import './execution/queries';
import './execution/mutations';

/** The built schema: the single source of truth for GraphQL, the SDL and (later) MCP tools. */
export const schema = builder.toSchema({ sortSchema: false });
