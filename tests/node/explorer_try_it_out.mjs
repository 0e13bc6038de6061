// The explorer's "Try it out", as a user does it: in headless Chromium, open /docs, expand an
// operation, press "Try it out", keep the example body the document fills in, press
// "Execute", and read the answer the page shows.
//
// Usage: node explorer_try_it_out.mjs BASE_URL CHROMIUM TAG OPERATION_ID
// Prints {status, answer, example} as JSON.

import { chromium } from 'playwright-core';

const [base, executablePath, tag, operation] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath,
  // No network beyond loopback: without these Chromium keeps calling home and failing.
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'],
});
try {
  const page = await browser.newPage();
  await page.goto(`${base}/docs/`);
  const op = page.locator(`#operations-${tag}-${operation}`);
  await op.locator('.opblock-summary').click();
  await op.locator('button.try-out__btn').click();
  const editor = op.locator('textarea.body-param__text');
  const example = (await editor.count()) > 0 ? await editor.inputValue() : null;
  await op.locator('button.execute').click();
  const live = op.locator('.live-responses-table');
  const status = live.locator('.response .response-col_status').first();
  await status.waitFor({ timeout: 60000 });
  const answer = await live.locator('.response-col_description pre').first().textContent();
  console.log(JSON.stringify({ status: (await status.textContent()).trim(), answer, example }));
} finally {
  await browser.close();
}
