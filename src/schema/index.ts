import { builder } from './builder';
import './scalars';
import './enums';
import './change';
import './changeQueries';
import './changeMutations';
import './standardChangeTemplate';
import './freezeWindow';
import './workflow';
import './workflowMutations';
import './workflowSecret';
import './egressPolicy';
import './audit';
import './compliance';
import './metrics';
import './service';
import './me';
import './apiKey';
import './live';
import './execution';
import './executionMutations';

/** The built schema: the single source of truth for GraphQL, the SDL and (later) MCP tools. */
export const schema = builder.toSchema({ sortSchema: false });
