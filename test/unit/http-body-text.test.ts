import { QUOTED_BODY_CHARS, shortBodyText } from '../../functions/shared/http';

describe('shortBodyText', () => {
  test('an HTML page becomes its title and its size, without markup', () => {
    // Prepare
    const page = `<!DOCTYPE html><html><head><title>503 Service Temporarily Unavailable</title><style>body{}</style></head><body>${'<p>x</p>'.repeat(500)}</body></html>`;

    // Act
    const text = shortBodyText(page);

    // Assess
    expect(text).toBe(`503 Service Temporarily Unavailable (HTML page, ${Buffer.byteLength(page)} bytes)`);
  });

  test('an HTML page without a title becomes its first visible words, cut short', () => {
    // Prepare
    const page = `<html><body><script>var secret = 1;</script><h1>Bad&nbsp;Gateway</h1><p>${'upstream said no '.repeat(50)}</p></body></html>`;

    // Act
    const text = shortBodyText(page);

    // Assess
    expect(text).toMatch(/^Bad Gateway upstream said no .*… \(HTML page, \d+ bytes\)$/);
    expect(text).not.toMatch(/<|secret/);
    expect(text.length).toBeLessThan(QUOTED_BODY_CHARS + 40);
  });

  test('oversized plain text is cut and says how big it was; short text stays as it is', () => {
    // Prepare
    const long = 'stack trace line\n'.repeat(400);

    // Act
    const cut = shortBodyText(long);

    // Assess
    expect(cut).toMatch(new RegExp(`^stack trace line stack trace line .*… \\(${Buffer.byteLength(long)} bytes\\)$`));
    expect(cut.length).toBeLessThan(QUOTED_BODY_CHARS + 40);
    expect(shortBodyText('Service Unavailable')).toBe('Service Unavailable');
  });
});
