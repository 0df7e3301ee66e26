import { describe, expect, it } from 'vitest';
import {
  CANCEL,
  type Change,
  cast,
  changeInState,
  GET,
  gql,
  gqlError,
  gqlOk,
  inDays,
  SCHEDULE,
  schedule,
} from '../helpers/changes';

type Cast = Awaited<ReturnType<typeof cast>>;

const CREATE_FREEZE = `mutation($name: String!, $startsAt: DateTime!, $endsAt: DateTime!, $reason: String) {
  createFreezeWindow(name: $name, startsAt: $startsAt, endsAt: $endsAt, reason: $reason) {
    id name reason startsAt endsAt createdBy } }`;

async function read(tok: string, id: string): Promise<Change> {
  return (await gqlOk<{ change: Change }>(GET, { id }, tok)).change;
}

async function freeze(c: Cast, name: string, startsAt: string, endsAt: string) {
  const data = await gqlOk<{ createFreezeWindow: { id: string; name: string } }>(
    CREATE_FREEZE,
    { name, startsAt, endsAt, reason: 'Quarter-end close' },
    c.manager,
  );
  return data.createFreezeWindow;
}

/** An ISO instant `days` from now at hh:mm UTC. */
function at(days: number, hour: number, minute = 0): string {
  const d = new Date(inDays(days, hour));
  d.setUTCMinutes(minute);
  return d.toISOString();
}

describe('the planned window', () => {
  it('is stored on the change and returned in UTC', async () => {
    const c = await cast('sch-ok');
    const approved = await changeInState(c, 'APPROVED');
    const start = inDays(2, 9);
    const plusTwo = start.replace('T09:00:00.000Z', 'T11:00:00+02:00'); // the same instant
    const result = await schedule(c.manager, approved.id, plusTwo, inDays(2, 11));
    expect(result.change).toMatchObject({
      status: 'SCHEDULED',
      plannedStart: start,
      plannedEnd: inDays(2, 11),
    });
    expect(result).toMatchObject({ conflicts: [], freezeWindowsOverridden: [] });
  });

  it.each([
    ['ends before it starts', () => inDays(3, 12), () => inDays(3, 10), 'must be after planned start'],
    ['ends when it starts', () => inDays(3, 10), () => inDays(3, 10), 'must be after planned start'],
    ['starts in the past', () => inDays(-1, 10), () => inDays(1, 10), 'is in the past'],
  ])('is refused with SCHEDULE_INVALID_WINDOW when it %s', async (_what, start, end, message) => {
    const c = await cast(`sch-invalid-${_what.replaceAll(' ', '-')}`);
    const approved = await changeInState(c, 'APPROVED');
    const err = await gqlError(SCHEDULE, { id: approved.id, start: start(), end: end() }, c.manager);
    expect(err.code).toBe('SCHEDULE_INVALID_WINDOW');
    expect(err.status).toBe(400);
    expect(err.message).toContain(message);
    expect(await read(c.viewer, approved.id)).toMatchObject({
      status: 'APPROVED',
      version: approved.version,
      plannedStart: null,
      plannedEnd: null,
    });
  });

  it('may only be set by a change manager (FORBIDDEN for the requester)', async () => {
    const c = await cast('sch-forbidden');
    const approved = await changeInState(c, 'APPROVED');
    const err = await gqlError(
      SCHEDULE,
      { id: approved.id, start: inDays(2), end: inDays(2, 12) },
      c.requester,
    );
    expect(err.code).toBe('FORBIDDEN');
    expect((await read(c.viewer, approved.id)).status).toBe('APPROVED');
  });
});

describe('freeze windows', () => {
  it('block a NORMAL change with SCHEDULE_FREEZE_WINDOW naming the window', async () => {
    const c = await cast('sch-freeze-normal');
    const window = await freeze(c, 'Q4 close', inDays(5, 0), inDays(8, 0));
    const approved = await changeInState(c, 'APPROVED');
    const err = await gqlError(
      SCHEDULE,
      { id: approved.id, start: inDays(6, 10), end: inDays(6, 12) },
      c.manager,
    );
    expect(err.code).toBe('SCHEDULE_FREEZE_WINDOW');
    expect(err.status).toBe(409);
    expect(err.message).toContain('"Q4 close"');
    expect(err.message).toContain('only EMERGENCY changes');
    expect(err.error.extensions?.freezeWindowId).toBe(window.id);
    expect(await read(c.viewer, approved.id)).toMatchObject({
      status: 'APPROVED',
      version: approved.version,
    });
  });

  it('block a window that only partly overlaps the freeze', async () => {
    const c = await cast('sch-freeze-partial');
    await freeze(c, 'Black Friday', inDays(5, 0), inDays(6, 0));
    const approved = await changeInState(c, 'APPROVED');
    const err = await gqlError(
      SCHEDULE,
      { id: approved.id, start: inDays(4, 22), end: inDays(5, 2) },
      c.manager,
    );
    expect(err.code).toBe('SCHEDULE_FREEZE_WINDOW');
    expect(err.message).toContain('Black Friday');
  });

  it('let a NORMAL change through when its window only touches the freeze', async () => {
    const c = await cast('sch-freeze-touch');
    await freeze(c, 'Q4 close', inDays(5, 0), inDays(8, 0));
    const approved = await changeInState(c, 'APPROVED');
    const result = await schedule(c.manager, approved.id, inDays(4, 22), inDays(5, 0));
    expect(result.change.status).toBe('SCHEDULED');
    expect(result.freezeWindowsOverridden).toEqual([]);
  });

  it('do not block another tenant', async () => {
    const frozen = await cast('sch-freeze-tenant-a');
    await freeze(frozen, 'Tenant A freeze', inDays(5, 0), inDays(8, 0));
    const c = await cast('sch-freeze-tenant-b');
    const approved = await changeInState(c, 'APPROVED');
    const result = await schedule(c.manager, approved.id, inDays(6, 10), inDays(6, 12));
    expect(result.change.status).toBe('SCHEDULED');
  });

  it('let an EMERGENCY change through and list the windows it overrides', async () => {
    const c = await cast('sch-freeze-emergency');
    const first = await freeze(c, 'Q4 close', inDays(5, 0), inDays(7, 0));
    const second = await freeze(c, 'Audit week', inDays(6, 0), inDays(9, 0));
    await freeze(c, 'Later freeze', inDays(20, 0), inDays(21, 0));
    const approved = await changeInState(c, 'APPROVED', { type: 'EMERGENCY' });
    const result = await schedule(c.manager, approved.id, inDays(6, 10), inDays(6, 12));
    expect(result.change).toMatchObject({ status: 'SCHEDULED', type: 'EMERGENCY' });
    expect(result.freezeWindowsOverridden).toEqual([first.id, second.id]);

    const audit = await gqlOk<{ auditLog: { nodes: { action: string }[] } }>(
      `query($id: ID!) { auditLog(targetId: $id, first: 1) { nodes { action } } }`,
      { id: approved.id },
      c.viewer,
    );
    expect(audit.auditLog.nodes).toEqual([{ action: 'change.scheduled.freeze_overridden' }]);
  });

  it('are declared by change managers only, with an end after the start', async () => {
    const c = await cast('sch-freeze-create');
    const forbidden = await gqlError(
      CREATE_FREEZE,
      { name: 'Mine', startsAt: inDays(5, 0), endsAt: inDays(6, 0) },
      c.requester,
    );
    expect(forbidden.code).toBe('FORBIDDEN');
    const backwards = await gqlError(
      CREATE_FREEZE,
      { name: 'Backwards', startsAt: inDays(6, 0), endsAt: inDays(5, 0) },
      c.manager,
    );
    expect(backwards.code).toBe('SCHEDULE_INVALID_WINDOW');
    const list = await gqlOk<{ freezeWindows: unknown[] }>('{ freezeWindows { id } }', {}, c.viewer);
    expect(list.freezeWindows).toEqual([]);
  });
});

describe('conflicts on shared services', () => {
  /** Schedules a change on `services` in the given window (hours on day 10) and returns it. */
  async function scheduled(c: Cast, services: string[], from: [number, number], to: [number, number]) {
    const approved = await changeInState(c, 'APPROVED', { affectedServices: services });
    return schedule(c.manager, approved.id, at(10, ...from), at(10, ...to));
  }

  it('reports an overlapping scheduled change that shares a service', async () => {
    const c = await cast('sch-conflict');
    const first = await scheduled(c, ['payments-db', 'api'], [10, 0], [12, 0]);
    expect(first.conflicts).toEqual([]);

    const second = await scheduled(c, ['payments-db', 'web'], [11, 0], [13, 0]);
    expect(second.change.status).toBe('SCHEDULED');
    expect(second.conflicts).toEqual([
      {
        changeId: first.change.id,
        services: ['payments-db'],
        plannedStart: at(10, 10),
        plannedEnd: at(10, 12),
      },
    ]);
  });

  it('reports every conflicting change, each with the services it shares', async () => {
    const c = await cast('sch-conflict-many');
    const a = await scheduled(c, ['api'], [9, 0], [11, 0]);
    const b = await scheduled(c, ['web', 'cdn'], [10, 30], [12, 0]);
    const third = await scheduled(c, ['api', 'web', 'cdn'], [10, 0], [11, 0]);
    expect(third.conflicts).toHaveLength(2);
    expect(third.conflicts).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ changeId: a.change.id, services: ['api'] }),
        expect.objectContaining({ changeId: b.change.id, services: expect.arrayContaining(['web', 'cdn']) }),
      ]),
    );
  });

  it('does not report an overlapping change on other services', async () => {
    const c = await cast('sch-conflict-other-service');
    await scheduled(c, ['payments-db'], [10, 0], [12, 0]);
    const other = await scheduled(c, ['search'], [10, 0], [12, 0]);
    expect(other.conflicts).toEqual([]);
  });

  it('does not report windows that only touch (one ends when the other starts)', async () => {
    const c = await cast('sch-conflict-touch');
    await scheduled(c, ['payments-db'], [10, 0], [12, 0]);
    const after = await scheduled(c, ['payments-db'], [12, 0], [14, 0]);
    expect(after.conflicts).toEqual([]);
    const before = await scheduled(c, ['payments-db'], [8, 0], [10, 0]);
    expect(before.conflicts).toEqual([]);
  });

  it('does not report a change that was cancelled', async () => {
    const c = await cast('sch-conflict-cancelled');
    const first = await scheduled(c, ['payments-db'], [10, 0], [12, 0]);
    await gqlOk(CANCEL, { id: first.change.id }, c.manager);
    const second = await scheduled(c, ['payments-db'], [10, 0], [12, 0]);
    expect(second.conflicts).toEqual([]);
  });

  it('does not report a change in another tenant', async () => {
    const a = await cast('sch-conflict-tenant-a');
    await scheduled(a, ['payments-db'], [10, 0], [12, 0]);
    const b = await cast('sch-conflict-tenant-b');
    const mine = await scheduled(b, ['payments-db'], [10, 0], [12, 0]);
    expect(mine.conflicts).toEqual([]);
  });
});

describe('bad DateTime input', () => {
  const BAD = [
    'tomorrow',
    '2026-02-30T10:00:00Z',
    '2026-13-01T10:00:00Z',
    '2026-01-31T09:00:00',
    '2026-01-31',
    '',
    '2026-01-31T25:00:00Z',
  ];

  it.each(BAD)('a variable %j is a clear VALIDATION_FAILED error, never a 500', async (bad) => {
    const c = await cast(`sch-bad-var-${JSON.stringify(bad)}`);
    const approved = await changeInState(c, 'APPROVED');
    const r = await gql(SCHEDULE, { id: approved.id, start: bad, end: inDays(2, 12) }, { token: c.manager });
    expect(r.status).toBe(400);
    expect(r.data ?? null).toBeNull();
    expect(r.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
    expect(r.errors?.[0]?.message).toContain('$start');
    expect(r.errors?.[0]?.message).toContain('ISO-8601');
    expect(await read(c.viewer, approved.id)).toMatchObject({
      status: 'APPROVED',
      version: approved.version,
    });
  });

  it.each(BAD)('an inline literal %j is a clear VALIDATION_FAILED error, never a 500', async (bad) => {
    const c = await cast(`sch-bad-literal-${JSON.stringify(bad)}`);
    const approved = await changeInState(c, 'APPROVED');
    const r = await gql(
      `mutation($id: ID!) { scheduleChange(id: $id, plannedStart: ${JSON.stringify(bad)},
         plannedEnd: "${inDays(2, 12)}") { change { id } } }`,
      { id: approved.id },
      { token: c.manager },
    );
    expect(r.status).toBe(400);
    expect(r.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
    expect(r.errors?.[0]?.message).toContain('ISO-8601');
    expect(await read(c.viewer, approved.id)).toMatchObject({
      status: 'APPROVED',
      version: approved.version,
    });
  });

  it.each([
    ['a number', 1767225600000],
    ['an object', { at: 'tomorrow' }],
  ])('a variable that is %s is a clear VALIDATION_FAILED error', async (_what, bad) => {
    const c = await cast(`sch-bad-type-${_what}`);
    const approved = await changeInState(c, 'APPROVED');
    const r = await gql(SCHEDULE, { id: approved.id, start: bad, end: inDays(2, 12) }, { token: c.manager });
    expect(r.status).toBe(400);
    expect(r.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
    expect(r.errors?.[0]?.message).toContain('ISO-8601');
  });

  it('a bad freeze window bound is refused the same way', async () => {
    const c = await cast('sch-bad-freeze');
    const r = await gql(
      CREATE_FREEZE,
      { name: 'Broken', startsAt: 'next monday', endsAt: inDays(3, 0) },
      { token: c.manager },
    );
    expect(r.status).toBe(400);
    expect(r.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
    expect(r.errors?.[0]?.message).toContain('$startsAt');
  });
});
