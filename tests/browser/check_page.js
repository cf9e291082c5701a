// Opens a page in headless Chromium (Debian's chromium, driven by puppeteer-core) as a person would, and fails
// when the page reports a problem: a console error, an uncaught exception, a request that failed or was answered
// with an HTTP error. Optionally it uploads an image into the page's file input or draws a stroke on its canvas,
// waits until a selector appears (e.g. a prediction), checks the page's text, and takes a screenshot.
//
//   node check_page.js (--url <http://...> | --file <page.html>) [--screenshot <out.png>]
//                      [--upload <image> [--input <selector>]] [--draw [--canvas <selector>]]
//                      [--wait-for <selector>] [--expect-text <regex>]... [--timeout <ms>] [--browser <chromium>]
//
// Exit status: 0 when the page passed, 1 when it did not (each problem is printed), 77 when there is no browser
// to run (CTest's SKIP_RETURN_CODE). Everything is bounded by --timeout (20 s by default).
// As a module: checkPage(browser, options) and launchBrowser(path) for checks that need more (check_demo_page.js).
'use strict';
const {execFileSync} = require('child_process');
const fs = require('fs');
const path = require('path');
const {pathToFileURL} = require('url');

const skipStatus = 77;

function findChromium() {
  try {
    return execFileSync('which', ['chromium'], {encoding: 'utf8'}).trim();
  } catch (failure) {
    return '';
  }
}

// Headless Chromium. As root, Chromium refuses to start without --no-sandbox.
async function launchBrowser(executablePath, timeout) {
  const puppeteer = require('puppeteer-core');
  return puppeteer.launch({
    executablePath,
    headless: true,
    timeout,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-extensions', '--disable-dev-shm-usage'],
  });
}

// Listens to `page` and returns the list of problems it reports, filled as they happen.
function watchPage(page) {
  const problems = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'assert') {
      const where = message.location() && message.location().url ? ` (${message.location().url})` : '';
      problems.push({kind: 'console error', text: message.text() + where});
    }
  });
  page.on('pageerror', (error) => problems.push({kind: 'page error', text: error.message || String(error)}));
  page.on('requestfailed', (request) => {
    const failure = request.failure();
    const reason = failure ? failure.errorText : 'failed';
    problems.push({kind: 'failed request', text: `${request.method()} ${request.url()}: ${reason}`});
  });
  page.on('response', (response) => {
    if (response.status() >= 400) {
      const text = `${response.request().method()} ${response.url()}: HTTP ${response.status()}`;
      problems.push({kind: 'failed request', text});
    }
  });
  page.on('dialog', (dialog) => {
    problems.push({kind: 'dialog', text: `${dialog.type()}: ${dialog.message()}`});
    dialog.dismiss().catch(() => {});
  });
  return problems;
}

// One stroke with the mouse across the element `selector`: an arch from bottom left over the top to bottom right,
// in small steps so that the page sees a stream of pointer moves.
async function drawStroke(page, selector) {
  const canvas = await page.waitForSelector(selector, {visible: true});
  const box = await canvas.boundingBox();
  const corners = [[0.3, 0.85], [0.35, 0.15], [0.65, 0.15], [0.7, 0.85]];
  const at = ([x, y]) => [box.x + x * box.width, box.y + y * box.height];
  await page.mouse.move(...at(corners[0]));
  await page.mouse.down();
  for (let i = 1; i < corners.length; ++i) {
    const [fromX, fromY] = at(corners[i - 1]);
    const [toX, toY] = at(corners[i]);
    for (let step = 1; step <= 10; ++step) {
      await page.mouse.move(fromX + (toX - fromX) * step / 10, fromY + (toY - fromY) * step / 10);
    }
  }
  await page.mouse.up();
}

// Opens options.url, does what the options ask, and returns {problems, waitedText}: the problems the page
// reported (none when it passed) and the text of options.waitFor once it appeared. options.onPage(page), when
// given, is called before the page loads (to listen to its traffic).
async function checkPage(browser, options) {
  const timeout = options.timeout || 20000;
  const page = await browser.newPage();
  page.setDefaultTimeout(timeout);
  await page.setViewport({width: options.width || 1100, height: options.height || 820});
  const problems = watchPage(page);
  if (options.onPage) await options.onPage(page);
  let waitedText = null;
  try {
    await page.goto(options.url, {waitUntil: 'networkidle0', timeout});
    if (options.upload) {
      const input = await page.waitForSelector(options.input || 'input[type=file]');
      await input.uploadFile(options.upload);
    }
    if (options.draw) await drawStroke(page, options.canvas || 'canvas');
    if (options.waitFor) {
      const element = await page.waitForSelector(options.waitFor, {timeout});
      waitedText = await element.evaluate((node) => node.innerText);
      await page.waitForNetworkIdle({idleTime: 200, timeout});
    }
    const text = await page.evaluate(() => document.body.innerText);
    for (const expected of options.expectText || []) {
      if (!new RegExp(expected).test(text)) {
        problems.push({kind: 'missing text', text: `the page does not show /${expected}/`});
      }
    }
  } catch (failure) {
    problems.push({kind: 'check', text: failure.message});
  }
  if (options.screenshot) {
    fs.mkdirSync(path.dirname(path.resolve(options.screenshot)), {recursive: true});
    await page.screenshot({path: options.screenshot, fullPage: true});
  }
  await page.close();
  return {problems, waitedText};
}

function report(url, problems, waitedText, screenshot) {
  if (problems.length === 0) {
    console.log(`check_page: OK ${url}` + (waitedText !== null ? `, shows: ${JSON.stringify(waitedText)}` : '') +
                (screenshot ? ` (screenshot ${screenshot})` : ''));
    return true;
  }
  console.log(`check_page: FAILED ${url}: ${problems.length} problem(s)`);
  const kinds = ['console error', 'page error', 'failed request', 'dialog', 'missing text', 'check'];
  for (const kind of kinds) {
    for (const problem of problems.filter((p) => p.kind === kind)) console.log(`  ${kind}: ${problem.text}`);
  }
  return false;
}

function parseArguments(argv) {
  const options = {expectText: [], timeout: 20000};
  const valued = {'--url': 'url', '--file': 'file', '--screenshot': 'screenshot', '--upload': 'upload',
                  '--input': 'input', '--canvas': 'canvas', '--wait-for': 'waitFor', '--timeout': 'timeout',
                  '--browser': 'browser'};
  for (let i = 0; i < argv.length; ++i) {
    const name = argv[i];
    if (name === '--draw') {
      options.draw = true;
    } else if (name === '--expect-text' && i + 1 < argv.length) {
      options.expectText.push(argv[++i]);
    } else if (valued[name] && i + 1 < argv.length) {
      options[valued[name]] = argv[++i];
    } else {
      throw new Error(`unknown or incomplete option ${name} (see the comment at the top of check_page.js)`);
    }
  }
  if (!options.url === !options.file) throw new Error('give one of --url <address> or --file <page.html>');
  if (options.file) {
    if (!fs.existsSync(options.file)) throw new Error(`${options.file}: no such file`);
    options.url = pathToFileURL(path.resolve(options.file)).href;
  }
  if (options.upload && !fs.existsSync(options.upload)) throw new Error(`${options.upload}: no such file`);
  options.timeout = Number(options.timeout);
  if (!(options.timeout > 0)) throw new Error('--timeout takes milliseconds, more than 0');
  return options;
}

// Ends the process if a check outlives its time, whatever hangs (the browser's start included); `cleanUp`, when
// given, runs first (e.g. to end a server the check started).
function watchdog(milliseconds, what, cleanUp) {
  const timer = setTimeout(() => {
    if (cleanUp) cleanUp();
    console.log(`check_page: FAILED ${what}: not done within ${milliseconds} ms`);
    process.exit(1);
  }, milliseconds);
  timer.unref();
}

async function main(argv) {
  let options;
  try {
    options = parseArguments(argv);
  } catch (failure) {
    console.error(`check_page: ${failure.message}`);
    return 2;
  }
  const browserPath = options.browser || findChromium();
  if (!browserPath || !fs.existsSync(browserPath)) {
    console.log('check_page: skipped: chromium not found (scripts/install-deps.sh installs it)');
    return skipStatus;
  }
  try {
    require.resolve('puppeteer-core');
  } catch (failure) {
    console.log('check_page: skipped: puppeteer-core not found (scripts/install-deps.sh installs it in tests/browser)');
    return skipStatus;
  }
  watchdog(options.timeout + 10000, options.url);
  const browser = await launchBrowser(browserPath, options.timeout);
  try {
    const {problems, waitedText} = await checkPage(browser, options);
    return report(options.url, problems, waitedText, options.screenshot) ? 0 : 1;
  } finally {
    await browser.close();
  }
}

module.exports = {checkPage, launchBrowser, findChromium, report, watchdog, skipStatus};

if (require.main === module) {
  main(process.argv.slice(2)).then((status) => process.exit(status), (failure) => {
    console.log(`check_page: FAILED: ${failure.stack || failure}`);
    process.exit(1);
  });
}
