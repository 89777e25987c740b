// The README is a front page that sends readers to docs/ in one click, so a broken link is
// a lost section. Every relative link in README.md and docs/**/*.md must name a file that
// exists, and an anchor (`page.md#heading`, `#heading`) a heading of that page, slugged as
// GitHub renders it. Links inside code (fenced blocks, `inline`) are not links.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { REPO_ROOT } from '../../bin/local/repo-root';

interface Link {
  readonly file: string;
  readonly line: number;
  readonly target: string;
}

function docFiles(): string[] {
  const docs = join(REPO_ROOT, 'docs');
  const nested = existsSync(docs)
    ? readdirSync(docs, { recursive: true, encoding: 'utf8' })
        .filter((name) => name.endsWith('.md'))
        .map((name) => join(docs, name))
    : [];
  return [join(REPO_ROOT, 'README.md'), ...nested.sort()];
}

/** The file's lines outside fenced code blocks, with their 1-based numbers. */
function proseLines(text: string): Array<{ line: number; text: string }> {
  const prose: Array<{ line: number; text: string }> = [];
  let fenced = false;
  text.split('\n').forEach((line, index) => {
    if (/^\s*```/.test(line)) fenced = !fenced;
    else if (!fenced) prose.push({ line: index + 1, text: line });
  });
  return prose;
}

/** A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to dashes. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M} _-]/gu, '')
    .replace(/ /g, '-');
}

/** Every anchor a markdown text offers, a repeated heading numbered as GitHub does (`-1`, `-2`). */
function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const found = new Set<string>();
  for (const { text: line } of proseLines(text)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const base = slug(heading);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    found.add(count === 0 ? base : `${base}-${count}`);
  }
  return found;
}

/** The relative links of a markdown text (absolute URLs and mail addresses left out). */
function relativeLinks(file: string, text: string): Link[] {
  return proseLines(text).flatMap(({ line, text: content }) => {
    const withoutCode = content.replace(/`[^`]*`/g, '');
    return [...withoutCode.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)]
      .map((match) => match[1] ?? '')
      .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target))
      .map((target) => ({ file, line, target }));
  });
}

/** What is wrong with a link, or undefined when it resolves. */
function brokenBecause(link: Link, read: (path: string) => string | undefined): string | undefined {
  const [path = '', anchor] = link.target.split('#', 2);
  const resolved = path === '' ? link.file : join(dirname(link.file), decodeURIComponent(path));
  const text = read(resolved);
  if (text === undefined) return `${relative(REPO_ROOT, resolved)} does not exist`;
  if (anchor === undefined || anchor === '') return undefined;
  if (!resolved.endsWith('.md')) return `an anchor into ${relative(REPO_ROOT, resolved)}, which is not a markdown page`;
  return anchors(text).has(anchor) ? undefined : `${relative(REPO_ROOT, resolved)} has no heading with the anchor #${anchor}`;
}

const readIfPresent = (path: string): string | undefined => {
  if (!existsSync(path)) return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch {
    // A directory: it exists, and has no headings.
    return '';
  }
};

const LINKS = docFiles().flatMap((file) => relativeLinks(file, readFileSync(file, 'utf8')));

describe('links in the README and docs/', () => {
  test('the README links to the docs (the extraction still finds links)', () => {
    // Act
    const fromReadme = LINKS.filter((link) => link.file === join(REPO_ROOT, 'README.md') && link.target.startsWith('docs/'));

    // Assess
    expect(fromReadme.length).toBeGreaterThan(0);
  });

  test('every docs page is linked from the README, in one click', () => {
    // Prepare
    const pages = docFiles().filter((file) => file !== join(REPO_ROOT, 'README.md')).map((file) => relative(REPO_ROOT, file));

    // Act
    const linked = new Set(LINKS.filter((link) => link.file === join(REPO_ROOT, 'README.md')).map((link) => link.target.split('#')[0]));

    // Assess
    expect(pages.filter((page) => !linked.has(page))).toEqual([]);
  });

  test.each(LINKS.map((link) => [`${relative(REPO_ROOT, link.file)}:${link.line}`, link.target, link] as const))('%s → %s resolves', (_at, _target, link) => {
    // Act
    const problem = brokenBecause(link, readIfPresent);

    // Assess
    expect(problem).toBeUndefined();
  });
});

describe('the link check itself', () => {
  const page = join(REPO_ROOT, 'docs', 'example.md');
  const files: Record<string, string> = {
    [join(REPO_ROOT, 'docs', 'other.md')]: '# Other\n\n## Verification, freshness, status and Object Lock\n\n## What `npm start` does\n\n## Notes\n\n## Notes\n',
  };
  const read = (path: string): string | undefined => files[path];

  test.each([
    ['other.md', undefined],
    ['other.md#verification-freshness-status-and-object-lock', undefined],
    ['other.md#what-npm-start-does', undefined],
    ['other.md#notes-1', undefined],
    ['missing.md', 'docs/missing.md does not exist'],
    ['other.md#no-such-heading', 'docs/other.md has no heading with the anchor #no-such-heading'],
    ['other.md#notes-2', 'docs/other.md has no heading with the anchor #notes-2'],
  ])('a link to %s: %s', (target, expected) => {
    // Act
    const problem = brokenBecause({ file: page, line: 1, target }, read);

    // Assess
    expect(problem).toBe(expected);
  });

  test('links in code are not links; absolute URLs are not checked', () => {
    // Prepare
    const text = 'See [a](a.md) and `[b](b.md)` and [c](https://example.com/c.md).\n\n```\n[d](d.md)\n```\n';

    // Act
    const links = relativeLinks(page, text).map((link) => link.target);

    // Assess
    expect(links).toEqual(['a.md']);
  });
});
