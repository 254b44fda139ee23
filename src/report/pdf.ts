import { existsSync } from 'node:fs';

/** Debian's chromium package; PHOENIX_CHROMIUM points elsewhere. */
export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

export class ChromiumMissingError extends Error {}

export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.PHOENIX_CHROMIUM || DEFAULT_CHROMIUM;
}

/** Throws ChromiumMissingError, naming the fix, when the browser is not there. */
export function requireChromium(executablePath = chromiumPath()): void {
  if (!existsSync(executablePath))
    throw new ChromiumMissingError(
      `a PDF report needs Chromium, and ${executablePath} does not exist: install it (apt-get install chromium) or set PHOENIX_CHROMIUM to its path; --format html needs no browser`,
    );
}

/** Prints the HTML report to PDF through headless Chromium (A4, backgrounds kept). */
export async function renderPdf(html: string, executablePath = chromiumPath()): Promise<Buffer> {
  requireChromium(executablePath);
  // Loaded here, not at start-up: only a PDF needs the browser driver.
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage();
    // The page has no external assets, so there is nothing to wait for beyond the document.
    await page.setContent(html, { waitUntil: 'load' });
    return await page.pdf({
      format: 'A4',
      printBackground: true,
      margin: { top: '12mm', bottom: '12mm', left: '10mm', right: '10mm' },
    });
  } finally {
    await browser.close();
  }
}
