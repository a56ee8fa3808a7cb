// Drives VS Code (code-server) in headless Chromium as a user would, for tests/editors/test_vscode.py:
//   node driver.mjs SCENARIO URL FILE RESULT_JSON [SCREENSHOT]
// SCENARIO "code-action": cursor on the comment, Ctrl+. , pick "Codegen: Generate code from comment".
// SCENARIO "palette": select all, F1, "Codegen: Rewrite selection…", type CODEGEN_INSTRUCTION, Enter.
// SCENARIO "missing-server": codegen.server.path points nowhere; wait for the extension's message.
// SCENARIO "api-key": "Codegen: Set API key" (types CODEGEN_API_KEY), then "Codegen: Check provider".
// SCENARIO "inline": go to CODEGEN_LINE's end, type CODEGEN_TYPE, wait for the ghost text, Tab.
// SCENARIO "inline-toggle": click the status-bar toggle (ghost text off), type there: no ghost
// text; click it again (on), type CODEGEN_TYPE_MORE: the ghost text appears and Tab accepts it.
// The editor saves the file itself (files.autoSave in the test's settings); this script waits until
// the file on disk changed, then writes {ok, error, text, notifications} to RESULT_JSON.
import { readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { chromium } from "playwright-core";

const [scenario, url, file, resultPath, screenshot] = process.argv.slice(2);
const TIMEOUT = 30_000;
const original = readFileSync(file, "utf8");
const result = { ok: false, scenario, notifications: [] };

async function waitForFileChange() {
  const deadline = Date.now() + TIMEOUT;
  while (Date.now() < deadline) {
    const now = readFileSync(file, "utf8");
    if (now !== original) {
      // let a second, unexpected edit or save land too
      await new Promise((resolve) => setTimeout(resolve, 700));
      return readFileSync(file, "utf8");
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("timed out waiting for the edit to reach the file");
}

async function notifications(page) {
  return page
    .locator(".notification-toast .notification-list-item")
    .evaluateAll((items) =>
      items.map((item) => ({
        message: item.querySelector(".notification-list-item-message")?.textContent ?? "",
        severity: item.querySelector(".codicon-error")
          ? "error"
          : item.querySelector(".codicon-warning")
            ? "warning"
            : "info",
      })),
    )
    .catch(() => []);
}

/** F1, type a command's title, run it. */
async function runCommand(page, title) {
  await page.keyboard.press("F1");
  const input = page.locator(".quick-input-widget input");
  await input.waitFor({ timeout: TIMEOUT });
  await input.fill(`>${title}`);
  await page.locator(".quick-input-list .monaco-list-row", { hasText: title }).first().waitFor({ timeout: TIMEOUT });
  await page.keyboard.press("Enter");
}

async function setKeyAndCheck(page) {
  await runCommand(page, "Codegen: Set API key");
  await page.locator(".quick-input-widget", { hasText: "secret storage" }).waitFor({ timeout: TIMEOUT });
  await page.keyboard.type(process.env.CODEGEN_API_KEY ?? "");
  await page.keyboard.press("Enter");
  await page.locator(".notification-toast", { hasText: "API key saved" }).first().waitFor({ timeout: TIMEOUT });
  const deadline = Date.now() + TIMEOUT;
  for (;;) {
    await runCommand(page, "Codegen: Check provider");
    // the answer, not the "checking the provider…" progress toast
    const answer = page.locator(".notification-toast", { hasText: /works|fail|error|not running yet/i }).last();
    await answer.waitFor({ timeout: TIMEOUT });
    if (!(await answer.innerText()).includes("not running yet")) {
      return;
    }
    // the server was still starting: clear the toasts and ask again
    await page.keyboard.press("Escape");
    if (Date.now() > deadline) {
      throw new Error("the server never came up for Check provider");
    }
    await page.waitForTimeout(500);
  }
}

async function openFile(page) {
  await page.locator(".monaco-workbench").waitFor({ timeout: TIMEOUT });
  await page.keyboard.press("Control+P");
  const input = page.locator(".quick-input-widget input");
  await input.waitFor({ timeout: TIMEOUT });
  await input.fill(basename(file));
  await page.locator(".quick-input-list .monaco-list-row").first().waitFor({ timeout: TIMEOUT });
  await page.keyboard.press("Enter");
  await page.locator(`.tab[data-resource-name="${basename(file)}"]`).waitFor({ timeout: TIMEOUT });
  const editor = page.locator(".editor-instance .monaco-editor .view-lines");
  await editor.waitFor({ timeout: TIMEOUT });
  await editor.click();
  return editor;
}

async function codeAction(page) {
  await page.keyboard.press("Control+Home");
  const deadline = Date.now() + TIMEOUT;
  for (;;) {
    await page.keyboard.press("Control+.");
    const item = page.locator(".action-widget .monaco-list-row", { hasText: "Codegen: Generate code from comment" });
    try {
      await item.first().waitFor({ timeout: 3000 });
      // choose it with the keyboard (the widget's pointer guard swallows synthetic clicks)
      const focused = page.locator(".action-widget .monaco-list-row.focused");
      for (let step = 0; step < 30; step++) {
        if ((await focused.innerText().catch(() => "")).includes("Codegen: Generate code from comment")) {
          await page.keyboard.press("Enter");
          return;
        }
        await page.keyboard.press("ArrowDown");
      }
      throw new Error("could not focus the Codegen action");
    } catch (error) {
      await page.keyboard.press("Escape");
      if (Date.now() > deadline) {
        throw new Error(`no Codegen code action was offered: ${String(error)}`);
      }
    }
  }
}

async function paletteRewrite(page) {
  await page.keyboard.press("Control+A");
  const deadline = Date.now() + TIMEOUT;
  for (;;) {
    await page.keyboard.press("F1");
    const input = page.locator(".quick-input-widget input");
    await input.waitFor({ timeout: TIMEOUT });
    await input.fill(">Codegen: Rewrite selection");
    const row = page.locator(".quick-input-list .monaco-list-row", { hasText: "Codegen: Rewrite selection" });
    await row.first().waitFor({ timeout: TIMEOUT });
    await page.keyboard.press("Enter");
    // the extension's instruction box
    const box = page.locator(".quick-input-widget", { hasText: "How should the selection be rewritten?" });
    try {
      await box.waitFor({ timeout: 5000 });
      break;
    } catch (error) {
      // the command ran before the server was up ("not running yet"): try again
      await page.keyboard.press("Escape");
      if (Date.now() > deadline) {
        throw new Error(`the instruction box did not appear: ${String(error)}`);
      }
      await page.waitForTimeout(500);
    }
  }
  await page.keyboard.type(process.env.CODEGEN_INSTRUCTION ?? "");
  await page.keyboard.press("Enter");
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
/** The extension's status-bar item while the job runs (the tests make the provider slow enough),
 * then the edited file on disk. */
async function waitForEdit(page) {
  result.statusSeen = await page
    .locator(".part.statusbar .statusbar-item", { hasText: "Codegen" })
    .first()
    .waitFor({ timeout: 5000 })
    .then(
      () => true,
      () => false,
    );
  result.text = await waitForFileChange();
}

/** The ghost text Monaco draws: the part on the cursor line and the lines below it. */
async function ghostText(page) {
  return page
    .locator(".editor-instance .monaco-editor")
    .first()
    .evaluate((editor) => {
      // Monaco renders spaces as no-break spaces
      const text = (node) => node.textContent.replaceAll("\u00a0", " ");
      const inline = [...editor.querySelectorAll(".ghost-text-decoration")].map(text).join("");
      // the lines below: syntax-highlighted spans, one line element each
      const lines = new Map();
      for (const span of editor.querySelectorAll("span.ghost-text")) {
        const line = span.closest(".view-line") ?? span.parentElement;
        lines.set(line, (lines.get(line) ?? "") + text(span));
      }
      const below = [...lines.values()];
      return inline || below.length ? { inline, below } : null;
    })
    .catch(() => null);
}

/** The ghost text once Monaco has finished drawing it: the same in two looks 100 ms apart (on a
 *  busy machine the lines below can be drawn before the part on the cursor line). */
async function waitForGhost(page, timeout = TIMEOUT) {
  const deadline = Date.now() + timeout;
  let last = null;
  while (Date.now() < deadline) {
    const ghost = await ghostText(page);
    if (ghost && last && JSON.stringify(ghost) === JSON.stringify(last)) {
      return ghost;
    }
    last = ghost;
    await page.waitForTimeout(100);
  }
  return last;
}

/** Put the cursor at the end of CODEGEN_LINE (1-based) with Ctrl+G, as a user would. */
async function goToLineEnd(page) {
  await page.keyboard.press("Control+G");
  const input = page.locator(".quick-input-widget input");
  await input.waitFor({ timeout: TIMEOUT });
  await input.fill(`:${process.env.CODEGEN_LINE ?? "1"}`);
  await page.keyboard.press("Enter");
  await page.keyboard.press("End");
}

/** The ghost-text toggle in the status bar (shown once the server offers inline completion). */
function inlineToggle(page) {
  return page.locator(".part.statusbar .statusbar-item", { hasText: "Codegen" }).filter({
    has: page.locator(".codicon-sparkle, .codicon-circle-slash"),
  });
}

async function inline(page) {
  result.toggle = await inlineToggle(page)
    .first()
    .waitFor({ timeout: TIMEOUT })
    .then(
      () => true,
      () => false,
    );
  await goToLineEnd(page);
  await page.keyboard.type(process.env.CODEGEN_TYPE ?? "", { delay: 50 });
  result.ghost = await waitForGhost(page);
  if (!result.ghost) {
    throw new Error("no ghost text appeared");
  }
  await page.keyboard.press("Tab");
  result.text = await waitForFileChange();
}

/** Toggle off, type: nothing may appear (and nothing is asked); toggle on: it appears. */
async function inlineToggled(page) {
  const toggle = inlineToggle(page).first();
  await toggle.waitFor({ timeout: TIMEOUT });
  await toggle.click();
  await page.locator(".part.statusbar .statusbar-item .codicon-circle-slash").waitFor({ timeout: TIMEOUT });
  await goToLineEnd(page);
  await page.keyboard.type(process.env.CODEGEN_TYPE ?? "", { delay: 50 });
  // the time a suggestion takes when on (the test's provider answers at once)
  result.ghostWhileOff = await waitForGhost(page, 3000);
  await toggle.click();
  await page.locator(".part.statusbar .statusbar-item .codicon-sparkle").waitFor({ timeout: TIMEOUT });
  // back in the editor at the same place, the next keystroke asks again
  await goToLineEnd(page);
  await page.keyboard.type(process.env.CODEGEN_TYPE_MORE ?? "", { delay: 50 });
  result.ghost = await waitForGhost(page);
  if (!result.ghost) {
    throw new Error("no ghost text appeared after turning it back on");
  }
  await page.keyboard.press("Tab");
  result.text = await waitForFileChange();
}

let page;
try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  await page.goto(url, { waitUntil: "domcontentloaded" });
  await openFile(page);
  if (scenario === "missing-server") {
    await page.locator(".notification-toast", { hasText: "was not found" }).first().waitFor({ timeout: TIMEOUT });
  } else if (scenario === "api-key") {
    await setKeyAndCheck(page);
  } else if (scenario === "code-action") {
    await codeAction(page);
    await waitForEdit(page);
  } else if (scenario === "inline") {
    await inline(page);
  } else if (scenario === "inline-toggle") {
    await inlineToggled(page);
  } else if (scenario === "palette") {
    await paletteRewrite(page);
    await waitForEdit(page);
  } else {
    throw new Error(`unknown scenario ${scenario}`);
  }
  result.ok = true;
} catch (error) {
  result.error = String(error?.stack ?? error);
  result.text = readFileSync(file, "utf8");
} finally {
  if (page) {
    result.notifications = await notifications(page);
    if (screenshot) {
      await page.screenshot({ path: screenshot }).catch(() => undefined);
    }
  }
  writeFileSync(resultPath, JSON.stringify(result));
  await browser.close();
}
