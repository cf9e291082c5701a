// Example 13's demo page checked in headless Chromium as a person would use it: the server started on a free
// port on a trained store, the page opened at GET /, then
//   - a Fashion-MNIST test image uploaded as a PNG, dark on light and 4 times larger (as a photo would be): the
//     page must invert it by itself and send back the 28 x 28 image within 0.02 per pixel on average;
//   - a stroke drawn with the mouse on the pad: the page must send something drawn;
// and each time the page must load and work without a console error, an uncaught exception or a failed
// request, show the class of the largest probability of the server's answer, ten probability bars, and the
// version that answered, which is the one GET /model names. Screenshots go to --out.
//
//   node check_demo_page.js --server <13_inference_server> --store <trained store> --fashion-mnist <directory>
//                           --out <directory> [--browser <chromium>]
'use strict';
const {spawn} = require('child_process');
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const {checkPage, launchBrowser, findChromium, report, watchdog, skipStatus} = require('./check_page.js');

const classNames = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag',
                    'Ankle boot'];
const timeout = 20000;

function parseArguments(argv) {
  const options = {};
  for (let i = 0; i + 1 < argv.length; i += 2) options[argv[i].replace(/^--/, '')] = argv[i + 1];
  for (const name of ['server', 'store', 'fashion-mnist', 'out']) {
    if (!options[name]) throw new Error(`--${name} is required (see the comment at the top of check_demo_page.js)`);
  }
  return options;
}

// Starts the server on a free port; resolves to {child, url} once it prints where it listens.
function startServer(server, store) {
  return new Promise((resolve, reject) => {
    const child = spawn(server, ['--store', store, '--port', '0'], {stdio: ['ignore', 'pipe', 'pipe']});
    let output = '';
    const listening = (chunk) => {
      output += chunk;
      const match = output.match(/on (http:\/\/127\.0\.0\.1:\d+)/);
      if (match) {
        child.stdout.off('data', listening);
        resolve({child, url: match[1]});
      }
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', listening);
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`the server ended (status ${code}) before listening: ${output}`)));
  });
}

// SIGTERM, then the exit status (the server answers what is under way and exits with 0).
function stopServer(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.removeAllListeners('exit');
    child.on('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

// The first image of Fashion-MNIST's test set: 784 bytes, and its label.
function firstTestImage(directory) {
  const images = zlib.gunzipSync(fs.readFileSync(path.join(directory, 't10k-images-idx3-ubyte.gz')));
  const labels = zlib.gunzipSync(fs.readFileSync(path.join(directory, 't10k-labels-idx1-ubyte.gz')));
  if (images.readUInt32BE(0) !== 2051 || images.readUInt32BE(8) !== 28 || labels.readUInt32BE(0) !== 2049) {
    throw new Error(`${directory}: not Fashion-MNIST's IDX files`);
  }
  return {pixels: Array.from(images.subarray(16, 16 + 784)), label: labels[8]};
}

// The image as a photo would show it: dark on light (inverted), 4 times larger, written as PNG by the browser's
// own canvas encoder.
async function writeUploadImage(browser, pixels, file) {
  const page = await browser.newPage();
  const dataUrl = await page.evaluate((bytes) => {
    const scale = 4;
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = 28 * scale;
    const context = canvas.getContext('2d');
    bytes.forEach((value, i) => {
      const level = 255 - value;
      context.fillStyle = `rgb(${level}, ${level}, ${level})`;
      context.fillRect((i % 28) * scale, Math.floor(i / 28) * scale, scale, scale);
    });
    return canvas.toDataURL('image/png');
  }, pixels);
  await page.close();
  fs.writeFileSync(file, Buffer.from(dataUrl.split(',')[1], 'base64'));
}

// Opens the page, does `action` (upload or draw), and checks what the page sent and shows against the answers
// the server gave it. Returns the problems, each a {kind, text}, and the last input the page sent.
async function checkPrediction(browser, url, action, screenshot, modelVersion) {
  const exchanges = [];   // each POST /predict of the page: {input, answer}
  const {problems, waitedText} = await checkPage(browser, {
    url, screenshot, timeout, ...action, waitFor: '#result[data-ready="true"], #error.shown',
    onPage: (page) => page.on('response', async (response) => {
      if (!response.url().endsWith('/predict')) return;
      exchanges.push({input: JSON.parse(response.request().postData()).input, answer: await response.json()});
    }),
  });
  const fail = (text) => problems.push({kind: 'check', text});
  const shown = waitedText || '';
  if (exchanges.length === 0) {
    fail('the page sent no POST /predict');
    return {problems, waitedText, input: null};
  }
  const {input, answer} = exchanges[exchanges.length - 1];
  if (!Array.isArray(input) || input.length !== 784 || input.some((v) => !(v >= 0 && v <= 1))) {
    fail('the page did not send 784 values in [0, 1]');
  }
  const prediction = answer.predictions && answer.predictions[0];
  if (!prediction) {
    fail(`the server answered ${JSON.stringify(answer)}`);
    return {problems, waitedText, input: null};
  }
  const best = prediction.probabilities.indexOf(Math.max(...prediction.probabilities));
  if (!shown.includes(classNames[best])) {
    fail(`the server's answer is ${classNames[best]}, the page shows ${JSON.stringify(waitedText)}`);
  }
  if (!shown.includes(`version ${prediction.version}`) || prediction.version !== modelVersion) {
    fail(`the answer came from version ${prediction.version} (GET /model: ${modelVersion}), the page shows ` +
         JSON.stringify(waitedText));
  }
  const barCount = (shown.match(/ %/g) || []).length;
  if (barCount < 11) fail(`the page shows ${barCount} percentages, expected 11 (the answer and 10 bars)`);
  for (const name of classNames) {
    if (!shown.includes(name)) fail(`the bars do not name ${name}`);
  }
  return {problems, waitedText, input, best};
}

async function main(argv) {
  const options = parseArguments(argv);
  const browserPath = options.browser || findChromium();
  if (!browserPath || !fs.existsSync(browserPath)) {
    console.log('check_demo_page: skipped: chromium not found (scripts/install-deps.sh installs it)');
    return skipStatus;
  }
  fs.mkdirSync(options.out, {recursive: true});
  const {child, url} = await startServer(options.server, options.store);
  watchdog(4 * timeout, 'the demo page', () => child.kill('SIGKILL'));
  let browser = null;
  let passed = true;
  try {
    browser = await launchBrowser(browserPath, timeout);
    const model = await (await fetch(`${url}/model`)).json();
    const image = firstTestImage(options['fashion-mnist']);
    const upload = path.join(options.out, 'demo_upload.png');
    await writeUploadImage(browser, image.pixels, upload);

    const uploaded = await checkPrediction(browser, `${url}/`, {upload}, path.join(options.out, 'demo_upload_page.png'),
                                           model.version);
    if (uploaded.input) {
      const error = uploaded.input.reduce((sum, v, i) => sum + Math.abs(v - image.pixels[i] / 255), 0) / 784;
      console.log(`upload of a ${classNames[image.label]} (dark on light, 112 x 112): mean difference of the input ` +
                  `sent from the test image ${error.toFixed(4)}; predicted ${classNames[uploaded.best]}`);
      if (!(error < 0.02)) {
        uploaded.problems.push({kind: 'check', text: `the page sent an input ${error.toFixed(3)} per pixel away from ` +
                                                     'the test image (not inverted or not scaled right?)'});
      }
    }
    passed = report(`${url}/ with an upload`, uploaded.problems, uploaded.waitedText) && passed;

    const drawn = await checkPrediction(browser, `${url}/`, {draw: true, canvas: '#pad'},
                                        path.join(options.out, 'demo_drawing_page.png'), model.version);
    if (drawn.input && !drawn.input.some((v) => v > 0.5)) {
      drawn.problems.push({kind: 'check', text: 'the page sent an empty drawing'});
    }
    passed = report(`${url}/ with a drawn stroke`, drawn.problems, drawn.waitedText) && passed;
  } finally {
    if (browser) await browser.close();
    const status = await stopServer(child);
    if (status !== 0) {
      console.log(`check_demo_page: the server exited with status ${status} on SIGTERM`);
      passed = false;
    }
  }
  return passed ? 0 : 1;
}

main(process.argv.slice(2)).then((status) => process.exit(status), (failure) => {
  console.log(`check_demo_page: FAILED: ${failure.stack || failure}`);
  process.exit(1);
});
