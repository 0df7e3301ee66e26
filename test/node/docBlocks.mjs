// The fenced code blocks of README.md and docs/, and what docs/README.md's convention says to do
// with each: run it (sh, graphql) or leave it, because it is marked as output, an illustration or
// a command a test must not run (with the reason). test/node/docs.test.mjs runs them.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/** Languages whose blocks run: a shell script, or a GraphQL operation sent to /graphql. */
export const RUNNABLE = new Set(['sh', 'graphql']);
/** Marks of a block that does not run; `not-run` needs a reason: `not-run=long-running`. */
export const MARKS = new Set(['output', 'illustration', 'not-run']);
/** Attributes a runnable block may carry. */
const ATTRIBUTES = { sh: new Set(['serves']), graphql: new Set(['as', 'expect']) };
const ROLES = new Set(['viewer', 'requester', 'approver', 'change_manager', 'admin']);

/** README.md and every .md under docs/, as paths relative to `root`. */
export function docFiles(root) {
  const files = ['README.md'];
  const walk = (dir) => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.md')) files.push(path);
    }
  };
  walk('docs');
  return files.sort();
}

/**
 * The fenced blocks of a Markdown text: `{line, info, lang, attrs, code}`. A fence is ``` or ~~~
 * (three or more), indented by up to three spaces or, inside a list item, more; the block's
 * lines lose the fence's indentation.
 */
export function fencedBlocks(text) {
  const lines = text.split('\n');
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})(.*)$/.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence, info] = open;
    const body = [];
    let j = i + 1;
    const close = new RegExp(`^\\s*${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`);
    while (j < lines.length && !close.test(lines[j])) {
      body.push(lines[j].startsWith(indent) ? lines[j].slice(indent.length) : lines[j].trimStart());
      j++;
    }
    if (j === lines.length) throw new Error(`line ${i + 1}: the fence ${fence} is never closed`);
    const [lang = '', ...words] = info.trim().split(/\s+/).filter(Boolean);
    const attrs = {};
    for (const w of words) {
      const eq = w.indexOf('=');
      attrs[eq < 0 ? w : w.slice(0, eq)] = eq < 0 ? true : w.slice(eq + 1);
    }
    blocks.push({ line: i + 1, info: info.trim(), lang, attrs, code: `${body.join('\n')}\n` });
    i = j;
  }
  return blocks;
}

/**
 * What to do with a block: `{run: 'sh' | 'graphql'}`, `{skip: mark}`, or `{error}` naming what
 * breaks the convention (an unmarked block of another language, a mark without its reason, an
 * unknown attribute or role).
 */
export function classify(block) {
  const marks = Object.keys(block.attrs).filter((k) => MARKS.has(k));
  if (marks.length > 1) return { error: `more than one mark (${marks.join(', ')})` };
  if (marks.length === 1) {
    const [mark] = marks;
    if (mark === 'not-run' && (block.attrs[mark] === true || block.attrs[mark] === '')) {
      return { error: 'not-run needs its reason: not-run=<why>, e.g. not-run=long-running' };
    }
    if (mark !== 'not-run' && block.attrs[mark] !== true) return { error: `${mark} takes no value` };
    return { skip: mark };
  }
  if (!RUNNABLE.has(block.lang)) {
    return {
      error: `a \`${block.lang || '(no language)'}\` block is neither runnable (sh, graphql) nor marked output, illustration or not-run=<why>`,
    };
  }
  const unknown = Object.keys(block.attrs).filter((k) => !ATTRIBUTES[block.lang].has(k));
  if (unknown.length) return { error: `unknown attribute(s) for ${block.lang}: ${unknown.join(', ')}` };
  if (block.lang === 'graphql' && block.attrs.as !== undefined && !ROLES.has(block.attrs.as)) {
    return { error: `as=${block.attrs.as} is not a role (${[...ROLES].join(', ')})` };
  }
  return { run: block.lang };
}

/** Every block of every doc file, with its file and what to do with it. */
export function allBlocks(root) {
  return docFiles(root).flatMap((file) =>
    fencedBlocks(readFileSync(join(root, file), 'utf8')).map((b) => ({
      ...b,
      file: relative(root, join(root, file)),
      ...classify(b),
    })),
  );
}

/**
 * Relative Markdown links of a text as `{path, anchor}` (`[text](path#anchor)`; `[text](#anchor)`
 * is this file), for checking that the files and headings exist.
 */
export function relativeLinks(text) {
  const links = [];
  const outsideCode = text.replace(/^(\s*)(`{3,}|~{3,})[\s\S]*?^\s*\2\s*$/gm, '').replace(/`[^`\n]*`/g, '');
  for (const m of outsideCode.matchAll(/\]\(([^)\s]+)\)/g)) {
    const target = m[1];
    if (/^[a-z]+:/i.test(target)) continue;
    const [path, anchor] = target.split('#');
    links.push({ path, anchor });
  }
  return links;
}

/** The anchors GitHub gives a text's headings: lower case, punctuation dropped, spaces to `-`. */
export function headingAnchors(text) {
  const outsideCode = text.replace(/^(\s*)(`{3,}|~{3,})[\s\S]*?^\s*\2\s*$/gm, '');
  return new Set(
    [...outsideCode.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)].map((m) =>
      m[1]
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, '')
        .replace(/\s/g, '-'),
    ),
  );
}
