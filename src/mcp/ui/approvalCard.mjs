// The approval card (an MCP App): shows the change a get_change_status or review_change result
// carries, and votes on it through the host with approve_change / reject_change, so the vote is
// the signed-in person's own and meets every rule a direct call meets. It builds the page with
// textContent only: change fields are user text. Bundled into the page by scripts/buildMcpApps.mjs.
import { App } from '@modelcontextprotocol/ext-apps';

const app = new App({ name: 'changeflow-approval-card', version: '1.0.0' });
const $ = (id) => document.getElementById(id);

/** The structured result, or the JSON of its text (hosts may pass either). */
function payload(result) {
  if (result?.structuredContent) return result.structuredContent;
  const text = result?.content?.find((c) => c.type === 'text')?.text;
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function list(title, items, line, none) {
  const fragment = document.createDocumentFragment();
  fragment.append(el('h2', title));
  const ul = el('ul');
  ul.dataset.section = title.toLowerCase().replace(/\W+/g, '-');
  for (const item of items ?? []) ul.append(el('li', line(item)));
  if (!items?.length) ul.append(el('li', none, 'empty'));
  fragment.append(ul);
  return fragment;
}

const when = (iso) => (iso ? new Date(iso).toISOString().replace('T', ' ').slice(0, 16) : '');

let current = null;

/** Renders a review_change result, or a change (get_change_status). */
function render(data) {
  const review = data?.change ? data : { change: data };
  const change = review.change;
  if (!change?.id) return;
  current = change;
  const card = $('card');
  card.replaceChildren();
  card.dataset.changeId = change.id;
  card.dataset.status = change.status;
  card.append(el('h1', `${change.id}: ${change.title ?? ''}`));
  const sub = el('p', '', 'sub');
  sub.append(el('span', change.status, 'badge'));
  if (change.type) sub.append(el('span', change.type, 'badge'));
  if (change.riskLevel) sub.append(el('span', `risk ${change.riskLevel} (${change.riskScore})`, 'badge'));
  if (change.plannedStart) sub.append(` ${when(change.plannedStart)} – ${when(change.plannedEnd)}`);
  if (change.affectedServices?.length) sub.append(` · ${change.affectedServices.join(', ')}`);
  card.append(sub);

  $('decide').hidden = change.status !== 'PENDING_APPROVAL';
  // A get_change_status result has no votes or risk factors: the card asks review_change for them.
  if (!('approvals' in change)) return;
  card.append(list('Risk factors', change.riskFactors, (f) => `${f.label} (+${f.contribution})`, 'none'));
  const votes = change.approvals ?? [];
  const quorum =
    review.approvalsRequired == null
      ? ''
      : ` (${review.approvalsReceived} of ${review.approvalsRequired}${review.stillNeeded ? `; needs ${review.stillNeeded}` : ''})`;
  card.append(
    list(
      `Approvals${quorum}`,
      votes,
      (a) => `${a.decision} by ${a.approver?.id ?? 'unknown'}${a.comment ? `: ${a.comment}` : ''}`,
      'no votes yet',
    ),
  );
  if ('conflicts' in review) {
    card.append(
      list(
        'Conflicts',
        review.conflicts,
        (c) => `${c.changeId} on ${c.services.join(', ')}, ${when(c.plannedStart)} – ${when(c.plannedEnd)}`,
        'none',
      ),
    );
    card.append(
      list(
        'Freeze windows',
        review.freezeWindows,
        (w) => `${w.name}, ${when(w.startsAt)} – ${when(w.endsAt)}`,
        'none',
      ),
    );
    for (const ul of card.querySelectorAll(
      '[data-section=conflicts] li:not(.empty), [data-section=freeze-windows] li:not(.empty)',
    ))
      ul.classList.add('warn');
  }
}

function show(message, kind) {
  const outcome = $('outcome');
  outcome.textContent = message;
  outcome.className = kind;
}

/** Casts the vote through the host; a refusal shows its stable code and message. */
async function vote(tool, args) {
  for (const b of document.querySelectorAll('button')) b.disabled = true;
  try {
    const result = await app.callServerTool({ name: tool, arguments: { id: current.id, ...args } });
    const body = payload(result);
    if (result.isError) {
      const error = body?.error;
      show(error ? `${error.code}: ${error.message}` : 'The vote was refused', 'error');
      return;
    }
    show(tool === 'approve_change' ? 'Your approval is recorded' : 'Your rejection is recorded', 'ok');
    $('comment').value = '';
    // The vote's compact result has the new status; the review shows the votes as they now stand.
    const review = await app.callServerTool({ name: 'review_change', arguments: { id: current.id } });
    render(review.isError ? { ...current, ...body?.change } : payload(review));
  } catch (e) {
    show(`The host could not call ${tool}: ${e instanceof Error ? e.message : String(e)}`, 'error');
  } finally {
    for (const b of document.querySelectorAll('button')) b.disabled = false;
  }
}

$('approve').addEventListener('click', () => {
  const comment = $('comment').value.trim();
  vote('approve_change', comment ? { comment } : {});
});
$('reject').addEventListener('click', () => {
  const reason = $('comment').value.trim();
  if (!reason) {
    show('A rejection needs a reason', 'error');
    $('comment').focus();
    return;
  }
  vote('reject_change', { reason });
});

/** The review of the change shown, through the host (a get_change_status result lacks the votes). */
async function review(id) {
  try {
    const result = await app.callServerTool({ name: 'review_change', arguments: { id } });
    const error = result.isError ? payload(result)?.error : null;
    // A viewer is no party to the approval: the card shows the change alone, with no ballot.
    if (error?.code === 'FORBIDDEN') {
      $('decide').hidden = true;
      show('Votes are shown to those who raise and approve changes.', 'note');
    } else if (result.isError) show(error?.message ?? 'The review failed', 'error');
    else render(payload(result));
  } catch (e) {
    show(`The host could not call review_change: ${e instanceof Error ? e.message : String(e)}`, 'error');
  }
}

app.ontoolresult = (result) => {
  if (result.isError) return show(payload(result)?.error?.message ?? 'The tool failed', 'error');
  const data = payload(result);
  render(data);
  if (data?.id && !data.change && !('approvals' in data)) review(data.id);
};
app.connect().catch((e) => show(`Could not connect to the host: ${e.message}`, 'error'));
