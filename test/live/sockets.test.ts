import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createLiveFeeds } from '../../src/live/feeds';
import { createSocketSet } from '../../src/live/sockets';
import { changeEvent, countingFigures, fakeSocket, fakeTimers, subscribe } from './fakes';

const PING = '{"type":"ping"}';

function setup() {
  const clock = fakeTimers();
  const live = createLiveFeeds({
    db: env.DB,
    systemFigures: countingFigures().systemFigures,
    onSubscribers: () => {},
    logger: { log: () => {} },
    timers: clock.timers,
  });
  const sockets = createSocketSet({ pingMs: 1_000, timers: clock.timers });
  /** A client on its own socket with one change-event subscription, ended when the socket is freed. */
  const client = (tenant: string, opts: { failSends?: boolean } = {}) => {
    const fake = fakeSocket(opts);
    const events = subscribe(live.port(tenant).changeEvents());
    const releases: { code: number; reason: string }[] = [];
    const socket = sockets.add(fake.port, (code, reason) => {
      releases.push({ code, reason });
      void events.stop();
    });
    return { ...fake, events, releases, socket };
  };
  return { clock, live, sockets, client };
}

describe('the live core’s sockets', () => {
  it('drops a closed socket with its subscriptions, once, and writes to it no more', async () => {
    const { clock, live, sockets, client } = setup();
    const gone = client('sockets');
    const stays = client('sockets');
    await expect.poll(() => live.subscribers('sockets')).toBe(2);

    gone.socket.close(1000, 'bye');
    gone.socket.close(1000, 'bye');
    expect(gone.releases).toEqual([{ code: 1000, reason: 'bye' }]);
    expect(sockets.size).toBe(1);
    await expect.poll(() => live.subscribers('sockets')).toBe(1);
    expect(gone.events.ended).toBe(true);

    live.publish(changeEvent('sockets', { changeId: 'after' }));
    await expect.poll(() => stays.events.values.map((e) => e.changeId)).toEqual(['after']);
    expect(gone.events.values).toEqual([]);
    clock.advance(1_000);
    expect(stays.sent).toEqual([PING]);
    expect(gone.sent).toEqual([]);
  });

  it('closes a socket that did not answer a ping by the next one (4408)', async () => {
    const { clock, live, sockets, client } = setup();
    const silent = client('silent');
    const chatty = client('silent');
    await expect.poll(() => live.subscribers('silent')).toBe(2);

    clock.advance(1_000);
    chatty.socket.heard();
    clock.advance(1_000);
    expect(silent.closes).toEqual([{ code: 4408, reason: 'No pong received' }]);
    expect(silent.releases).toEqual([{ code: 4408, reason: 'No pong received' }]);
    expect(chatty.closes).toEqual([]);
    expect(chatty.sent).toEqual([PING, PING]);
    expect(sockets.size).toBe(1);
    await expect.poll(() => live.subscribers('silent')).toBe(1);
  });

  it('frees a socket that cannot be written to or broke, without closing it again', async () => {
    const { clock, live, sockets, client } = setup();
    const broken = client('broken', { failSends: true });
    const errored = client('broken');
    await expect.poll(() => live.subscribers('broken')).toBe(2);
    errored.socket.lost(1011, 'socket error');
    clock.advance(1_000);
    expect(broken.releases).toEqual([{ code: 1011, reason: 'send failed' }]);
    expect(errored.releases).toEqual([{ code: 1011, reason: 'socket error' }]);
    expect(broken.closes).toEqual([]);
    expect(errored.closes).toEqual([]);
    expect(sockets.size).toBe(0);
    await expect.poll(() => live.subscribers('broken')).toBe(0);
  });

  it('pings only while a socket is open', () => {
    const { clock, sockets, client } = setup();
    expect(clock.pending).toBe(0);
    const only = client('pinger');
    expect(clock.pending).toBe(1);
    only.socket.close(1000, 'done');
    clock.advance(1_000);
    expect(sockets.size).toBe(0);
    expect(clock.pending).toBe(0);
    expect(only.sent).toEqual([]);
  });
});
