import { type ChangeFilter, countChanges, listChanges } from '../../db/changes';
import { listFreezeWindows } from '../../db/freezeWindows';
import {
  getTemplate,
  listTemplates,
  listTemplateVersions,
  type StandardChangeTemplateRecord,
} from '../../db/standardChangeTemplates';
import { byCreatedAt, PAGE_SIZE, type Page, type PageRequest, paginate } from '../../domain/pagination';
import type { ChangeRecord, FreezeWindowRecord } from '../../domain/types';
import type { AuthedContext, RequestContext } from '../context';
import { templateNotFound } from './standardTemplates';
import { notFound } from './writes';

/** Reads of changes, standard change templates and freeze windows, for the caller's tenant. */

export async function readChange(ctx: AuthedContext, id: string): Promise<ChangeRecord> {
  const change = await ctx.loaders.change.load(id);
  if (!change) throw notFound(id);
  return change;
}

/** A page of changes remembers its filter, so that totalCount counts what was asked for. */
export type ChangePage = Page<ChangeRecord> & { filter: ChangeFilter; tenantId: string };

/** Newest first, filtered; each change read is primed into the loader for later fields. */
export async function changesPage(
  ctx: AuthedContext,
  filter: ChangeFilter,
  request: PageRequest,
): Promise<ChangePage> {
  const { db, loaders, principal } = ctx;
  const page = await paginate(request, PAGE_SIZE, byCreatedAt, (limit, cursor) =>
    listChanges(db, principal.tenantId, filter, limit, cursor),
  );
  for (const change of page.nodes) loaders.change.prime(change.id, change);
  return { ...page, filter, tenantId: principal.tenantId };
}

/** How many changes match a page's filter (one statement more: asked for only when shown). */
export function countChangesOf(ctx: RequestContext, page: ChangePage): Promise<number> {
  return countChanges(ctx.db, page.tenantId, page.filter);
}

export function standardTemplates(
  ctx: AuthedContext,
  includeRetired: boolean,
  first: number,
): Promise<StandardChangeTemplateRecord[]> {
  return listTemplates(ctx.db, ctx.principal.tenantId, includeRetired, first);
}

export async function readTemplate(ctx: AuthedContext, id: string): Promise<StandardChangeTemplateRecord> {
  const template = await getTemplate(ctx.db, ctx.principal.tenantId, id);
  if (!template) throw templateNotFound(id);
  return template;
}

/** Every saved version of a template as it was, newest first. */
export function templateVersions(
  ctx: RequestContext,
  template: StandardChangeTemplateRecord,
): Promise<StandardChangeTemplateRecord[]> {
  return listTemplateVersions(ctx.db, template.tenantId, template.id);
}

/** Freeze windows overlapping [from, to); either bound may be open. */
export function freezeWindows(
  ctx: AuthedContext,
  from: string | null,
  to: string | null,
): Promise<FreezeWindowRecord[]> {
  return listFreezeWindows(ctx.db, ctx.principal.tenantId, from, to);
}
