// The admin UI in headless Chromium: log in with the admin `keel up` printed, see
// the dashboard, create an API key, and use that key against the API.
import { test } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const base = process.env.KEEL_URL;
const shots = process.env.KEEL_SCREENSHOT_DIR ?? ".";

async function withPage(run) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await browser.newPage();
    await run(page);
  } finally {
    await browser.close();
  }
}

async function logIn(page, password) {
  await page.goto(`${base}/login`);
  await page.fill("input[name=tenant]", process.env.KEEL_TENANT);
  await page.fill("input[name=email]", process.env.KEEL_EMAIL);
  await page.fill("input[name=password]", password);
  await page.click("button[type=submit]");
}

test("the printed admin logs in, sees the dashboard and creates an API key", async () => {
  await withPage(async (page) => {
    await logIn(page, process.env.KEEL_PASSWORD);
    await page.waitForURL(`${base}/`);
    assert.equal(await page.textContent("h1"), "Dashboard");
    await page.screenshot({ path: `${shots}/dashboard.png`, fullPage: true });

    await page.click("a[href='/api-keys']");
    await page.fill("input[name=name]", "browser test");
    await page.click("form[action='/api-keys'] button[type=submit]");
    const key = (await page.textContent("#new-api-key")).trim();
    assert.match(key, /^keel_[0-9a-f]{32}_[0-9a-f]{64}$/);
    await page.screenshot({ path: `${shots}/api-keys.png`, fullPage: true });

    const response = await fetch(`${base}/api/v1/users`, { headers: { Authorization: `Bearer ${key}` } });
    assert.equal(response.status, 200);
    const body = await response.json();
    assert.ok(body.data.some((u) => u.email === process.env.KEEL_EMAIL));
  });
});

test("an admin starts a self test and watches its run finish step by step", async () => {
  await withPage(async (page) => {
    await logIn(page, process.env.KEEL_PASSWORD);
    await page.waitForURL(`${base}/`);
    await page.click("a[href='/runs']");
    // The demo tenant's own onboarding is already listed.
    await page.waitForSelector("text=tenant_onboarding");
    await page.click("form[action='/runs/self-test'] button");
    await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
    const deadline = Date.now() + 60_000;
    while (!(await page.textContent("h1")).includes("completed")) {
      assert.ok(Date.now() < deadline, "the self test did not complete within a minute");
      await page.waitForTimeout(500);
      await page.reload();
    }
    const steps = await page.$$eval(".timeline .step strong", (els) => els.map((e) => e.textContent));
    assert.deepEqual(steps, ["write_mark_1", "write_mark_2", "write_mark_3"]);
    assert.match(await page.getAttribute("a[target=_blank]", "href"), /\/namespaces\/default\/workflows\//);
    await page.screenshot({ path: `${shots}/run.png`, fullPage: true });
  });
});

test("a wrong password shows an error and no session", async () => {
  await withPage(async (page) => {
    await logIn(page, "definitely not the password");
    assert.match(await page.textContent("[role=alert]"), /Wrong tenant, e-mail or password/);
    const cookies = await page.context().cookies();
    assert.ok(!cookies.some((c) => c.name === "keel_session"));
  });
});

test("an admin creates a client, adds a contact, and finds both by search", async () => {
  await withPage(async (page) => {
    await logIn(page, process.env.KEEL_PASSWORD);
    await page.waitForURL(`${base}/`);
    const stamp = Date.now();
    const name = `Zürich Dental ${stamp}`;
    const contactName = `Grete Brunner ${stamp}`;

    await page.click("nav a[href='/clients']");
    await page.waitForURL(`${base}/clients`);
    await page.click("a:text('New client')");
    await page.waitForURL(`${base}/clients/new`);
    await page.fill("input[name=name]", name);
    await page.fill("input[name=billing_email]", `billing+${stamp}@zurich-dental.example`);
    await page.click("form[action='/clients'] button[type=submit]");
    await page.waitForURL(/\/clients\/[0-9a-f-]{36}$/);
    assert.equal((await page.textContent("h1")).trim(), name);
    const clientUrl = page.url();

    await page.click("a:text('Add contact')");
    await page.waitForURL(/\/contacts\/new\?client_id=/);
    await page.fill("input[name=full_name]", contactName);
    await page.fill("input[name=email]", `grete+${stamp}@zurich-dental.example`);
    await page.click("form[action='/contacts'] button[type=submit]");
    await page.waitForURL(`${clientUrl}#contacts`);
    assert.ok(await page.isVisible(`#contacts td:has-text("${contactName}")`), "the contact is listed on the client page");
    await page.screenshot({ path: `${shots}/client.png`, fullPage: true });

    await page.click("nav a[href='/clients']");
    await page.waitForURL(`${base}/clients`);
    assert.ok(await page.isVisible(`table a:text-is("${name}")`), "the new client is in the list");

    // The search folds case and accents: "zurich" finds "Zürich".
    await page.fill("input[name=q]", `zurich dental ${stamp}`);
    await page.click("form[role=search] button[type=submit]");
    await page.waitForURL(/\/clients\?q=zurich/);
    const found = await page.$$eval("table tbody a", (links) => links.map((a) => a.textContent));
    assert.deepEqual(found, [name]);
    await page.goto(`${base}/clients?q=zurich`);
    assert.ok(await page.isVisible(`table a:text-is("${name}")`), "q=zurich finds the client");
    await page.screenshot({ path: `${shots}/clients.png`, fullPage: true });

    await page.click("nav a[href='/contacts']");
    await page.waitForURL(`${base}/contacts`);
    await page.fill("input[name=q]", contactName);
    await page.click("form[role=search] button[type=submit]");
    await page.waitForURL(/\/contacts\?q=/);
    const contacts = await page.$$eval("table tbody tr td:first-child", (cells) => cells.map((c) => c.textContent.trim()));
    assert.deepEqual(contacts, [contactName]);
    assert.ok(await page.isVisible(`table a:text-is("${name}")`), "the contact's client is named");
  });
});

test("a bad billing e-mail is refused inline and creates no client", async () => {
  await withPage(async (page) => {
    await logIn(page, process.env.KEEL_PASSWORD);
    await page.waitForURL(`${base}/`);
    const name = `Bad Mail Clinic ${Date.now()}`;
    await page.goto(`${base}/clients/new`);
    await page.fill("input[name=name]", name);
    // The browser accepts a domain without a dot; the server does not.
    await page.fill("input[name=billing_email]", "billing@clinic");
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url() === `${base}/clients` && r.request().method() === "POST"),
      page.click("form[action='/clients'] button[type=submit]"),
    ]);
    assert.equal(response.status(), 422);
    const error = await page.textContent(".field-error[data-field=billing_email]");
    assert.match(error, /address/);
    // What was typed is still there.
    assert.equal(await page.inputValue("input[name=name]"), name);
    assert.equal(await page.inputValue("input[name=billing_email]"), "billing@clinic");
    await page.screenshot({ path: `${shots}/client-form-error.png`, fullPage: true });

    await page.goto(`${base}/clients?status=all&q=${encodeURIComponent(name)}`);
    assert.equal(await page.$$eval("table tbody tr", (rows) => rows.length), 0);
    assert.ok(await page.isVisible("text=No clients match"));
  });
});

test("an admin opens a ticket, finds it in the queue, replies and closes it", async () => {
  await withPage(async (page) => {
    await logIn(page, process.env.KEEL_PASSWORD);
    await page.waitForURL(`${base}/`);
    const stamp = Date.now();
    const clientName = `Ticket Clinic ${stamp}`;
    const title = `Printer on floor 2 jams ${stamp}`;

    await page.goto(`${base}/clients/new`);
    await page.fill("input[name=name]", clientName);
    await page.click("form[action='/clients'] button[type=submit]");
    await page.waitForURL(/\/clients\/[0-9a-f-]{36}$/);

    await page.click("nav a[href='/tickets']");
    await page.waitForURL(`${base}/tickets`);
    await page.goto(`${base}/tickets/new`);
    await page.selectOption("select[name=client_id]", { label: clientName });
    await page.fill("input[name=title]", title);
    await page.fill("textarea[name=description]", "Paper jams on every print job.");
    await page.selectOption("select[name=priority]", "High");
    await page.click("form[action='/tickets'] button[type=submit]");
    await page.waitForURL(/\/tickets\/[0-9a-f-]{36}$/);
    const ticketUrl = page.url();
    assert.match(await page.textContent("h1"), new RegExp(`T-\\d+ · ${title}`));
    assert.equal((await page.textContent("#ticket-status")).trim(), "Open");

    // The queue lists it (sorted by SLA due by default); the search narrows to it.
    await page.goto(`${base}/tickets`);
    await page.fill("input[name=q]", `${stamp}`);
    await page.click("form[role=search] button[type=submit]");
    await page.waitForURL(/\/tickets\?q=/);
    const titles = await page.$$eval("table tbody tr td:nth-child(2)", (cells) => cells.map((c) => c.textContent.trim()));
    assert.deepEqual(titles, [title]);
    assert.ok(await page.isVisible(`table a:text-is("${clientName}")`), "the ticket's client is named");
    await page.screenshot({ path: `${shots}/tickets.png`, fullPage: true });
    await page.click("table tbody tr a[href^='/tickets/']");
    await page.waitForURL(ticketUrl);

    await page.fill("textarea[name=body]", `Replaced the fuser ${stamp}.`);
    assert.equal(await page.isChecked("input[name=internal]"), false);
    await page.click("form[action$='/comments'] button[type=submit]");
    await page.waitForURL(`${ticketUrl}#comments`);
    const comments = await page.$$eval("#comments .comment-body", (els) => els.map((e) => e.textContent.trim()));
    assert.deepEqual(comments, [`Replaced the fuser ${stamp}.`]);
    assert.ok(await page.isVisible("#comments .tag:text-is('public')"), "the comment is public");

    await page.selectOption("form[action$='/status'] select[name=status]", "Closed");
    await Promise.all([page.waitForURL(ticketUrl), page.click("form[action$='/status'] button[type=submit]")]);
    assert.equal((await page.textContent("#ticket-status")).trim(), "Closed");
    await page.screenshot({ path: `${shots}/ticket.png`, fullPage: true });

    // Closing it again is a conflict, said next to the status form.
    await page.selectOption("form[action$='/status'] select[name=status]", "Closed");
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith("/status") && r.request().method() === "POST"),
      page.click("form[action$='/status'] button[type=submit]"),
    ]);
    assert.equal(response.status(), 409);
    assert.match(await page.textContent(".field-error[data-field=status]"), /already Closed/);
  });
});

test("a ticket assigned to the admin rings the bell; templates preview and refuse errors", async () => {
  await withPage(async (page) => {
    await logIn(page, process.env.KEEL_PASSWORD);
    await page.waitForURL(`${base}/`);
    const stamp = Date.now();
    const clientName = `Bell Clinic ${stamp}`;
    await page.goto(`${base}/clients/new`);
    await page.fill("input[name=name]", clientName);
    await page.click("form[action='/clients'] button[type=submit]");
    await page.waitForURL(/\/clients\/[0-9a-f-]{36}$/);
    await page.goto(`${base}/tickets/new`);
    await page.selectOption("select[name=client_id]", { label: clientName });
    await page.fill("input[name=title]", `Bell ticket ${stamp}`);
    // The demo tenant's only user is its admin.
    const admin = await page.$eval("select[name=assigned_to]", (select) =>
      [...select.options].find((o) => o.value !== "")?.value);
    assert.ok(admin, "the admin is an assignee option");
    await page.selectOption("select[name=assigned_to]", admin);
    await page.click("form[action='/tickets'] button[type=submit]");
    await page.waitForURL(/\/tickets\/[0-9a-f-]{36}$/);

    // The fan-out workflow creates the in-app notification: poll the bell.
    const deadline = Date.now() + 60_000;
    let unread = false;
    while (!unread && Date.now() < deadline) {
      await page.goto(`${base}/notifications?unread=1`);
      unread = await page.isVisible(`text=Bell ticket ${stamp}`);
      if (!unread) await new Promise((r) => setTimeout(r, 500));
    }
    assert.ok(unread, "the notification arrived");
    assert.ok(await page.isVisible("a.bell .badge"), "the bell shows a count");
    await page.screenshot({ path: `${shots}/notifications.png`, fullPage: true });
    await page.click("form[action='/notifications/read-all'] button[type=submit]");
    await page.waitForURL(/\/notifications/);
    assert.equal(await page.isVisible(`text=Bell ticket ${stamp}`) && await page.isVisible("a.bell .badge"), false);

    // A template with an unknown variable is refused next to its field, with the line.
    await page.goto(`${base}/settings/notification-templates/ticket_closed`);
    await page.fill("textarea[name=text_body]", "Hello\n{{ invoice.total }}");
    await page.click("button[name=action][value=save]");
    assert.match(await page.textContent(".field-error[data-field=text_body]"), /line 2: unknown variable `invoice.total`/);
    // Preview renders the draft with sample data.
    await page.fill("textarea[name=text_body]", "Closed: {{ ticket.title }}");
    await page.click("button[name=action][value=preview]");
    await page.waitForSelector("#preview");
    assert.match(await page.textContent("#preview pre"), /Closed: Printer offline on 3rd floor/);
    await page.screenshot({ path: `${shots}/notification-template.png`, fullPage: true });
  });
});

async function logInAs(page, email, password) {
  await page.goto(`${base}/login`);
  await page.fill("input[name=tenant]", process.env.KEEL_TENANT);
  await page.fill("input[name=email]", email);
  await page.fill("input[name=password]", password);
  await page.click("button[type=submit]");
  await page.waitForURL(`${base}/`);
}

/** "1:30" → 90. */
function minutesOf(text) {
  const [h, m] = text.trim().split(":").map(Number);
  return h * 60 + m;
}

test("a technician times and logs work, submits the week, and a manager approves it", async () => {
  const stamp = Date.now();
  const clientName = `Time Clinic ${stamp}`;
  const techEmail = `tech-${stamp}@demo.keel.local`;
  const techPassword = `correct horse ${stamp}`;
  await withPage(async (page) => {
    await logIn(page, process.env.KEEL_PASSWORD);
    await page.waitForURL(`${base}/`);
    await page.goto(`${base}/clients/new`);
    await page.fill("input[name=name]", clientName);
    await page.click("form[action='/clients'] button[type=submit]");
    await page.waitForURL(/\/clients\/[0-9a-f-]{36}$/);
    await page.goto(`${base}/users`);
    await page.fill("form[action='/users'] input[name=full_name]", `Tess Tech ${stamp}`);
    await page.fill("form[action='/users'] input[name=email]", techEmail);
    await page.selectOption("form[action='/users'] select[name=role]", "Technician");
    await page.fill("form[action='/users'] input[name=password]", techPassword);
    await page.click("form[action='/users'] button[type=submit]");
    await page.waitForSelector(`text=${techEmail}`);
  });

  let sheetUrl;
  await withPage(async (page) => {
    await logInAs(page, techEmail, techPassword);
    assert.equal(await page.isVisible("nav a[href='/time/approvals']"), false, "a technician approves nothing");
    await page.click("nav a[href='/time']");
    await page.waitForURL(/\/time$/);

    // The timer lives on the server: a fresh page load still shows it running.
    await page.selectOption("form[action='/time/timer/start'] select[name=client_id]", { label: clientName });
    await page.fill("form[action='/time/timer/start'] input[name=notes]", "Remote session");
    await page.click("form[action='/time/timer/start'] button[type=submit]");
    await page.waitForSelector("#timer >> text=Running since");
    await page.goto(`${base}/time`);
    assert.ok(await page.isVisible("#timer >> text=Running since"), "the timer survives a reload");
    await page.click("form[action='/time/timer/stop'] button[type=submit]");
    await page.waitForSelector("form[action='/time/timer/start']");

    // A duration that is not one is refused next to its field, nothing logged.
    await page.selectOption("form[action='/time/entries'] select[name=client_id]", { label: clientName });
    await page.fill("form[action='/time/entries'] input[name=duration]", "an hour");
    const [refused] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith("/time/entries") && r.request().method() === "POST"),
      page.click("form[action='/time/entries'] button[type=submit]"),
    ]);
    assert.equal(refused.status(), 422);
    assert.match(await page.textContent(".field-error[data-field=duration]"), /hours and minutes/);
    await page.fill("form[action='/time/entries'] input[name=duration]", "1:30");
    await page.fill("form[action='/time/entries'] textarea[name=notes]", "Patched the file server");
    await page.click("form[action='/time/entries'] button[type=submit]");
    await page.waitForSelector("#entries >> text=Patched the file server");

    const durations = await page.$$eval("#entries tbody tr td:nth-child(3)", (cells) => cells.map((c) => c.textContent));
    assert.equal(durations.length, 2);
    assert.ok(durations.includes("1:30"), `entries: ${durations}`);
    const logged = durations.reduce((sum, d) => sum + minutesOf(d), 0);
    assert.equal(minutesOf(await page.textContent("#week-total")), logged, "the grid sums the entries");
    assert.ok(await page.isVisible(`#grid >> text=${clientName} (no ticket)`), "one row for the client's ad-hoc work");
    await page.screenshot({ path: `${shots}/time-week.png`, fullPage: true });

    // Submitting locks the entries.
    await page.click("#timesheets form[action$='/submit'] button[type=submit]");
    await page.waitForURL(/\/time\/sheets\/[0-9a-f-]{36}$/);
    sheetUrl = page.url();
    assert.equal((await page.textContent("#timesheet-status")).trim(), "SUBMITTED");
    await page.goto(`${base}/time`);
    assert.equal(await page.isVisible("#entries form[action$='/delete']"), false, "locked entries cannot be deleted");
    await page.selectOption("form[action='/time/entries'] select[name=client_id]", { label: clientName });
    await page.fill("form[action='/time/entries'] input[name=duration]", "15");
    const [locked] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith("/time/entries") && r.request().method() === "POST"),
      page.click("form[action='/time/entries'] button[type=submit]"),
    ]);
    assert.equal(locked.status(), 409);
    assert.match(await page.textContent("#log [role=alert]"), /locked/);
  });

  await withPage(async (page) => {
    await logIn(page, process.env.KEEL_PASSWORD);
    await page.waitForURL(`${base}/`);
    await page.click("nav a[href='/time/approvals']");
    await page.waitForURL(/\/time\/approvals$/);
    const sheetPath = new URL(sheetUrl).pathname;
    const row = page.locator("table.approvals tbody tr", { has: page.locator(`a[href='${sheetPath}']`) });
    assert.match(await row.textContent(), new RegExp(`Tess Tech ${stamp}`));
    await page.screenshot({ path: `${shots}/time-approvals.png`, fullPage: true });
    await row.locator("form[action$='/approve'] button[type=submit]").click();
    await page.waitForLoadState();
    // Applied by the approval workflow (a worker runs under keel up): poll the sheet.
    const deadline = Date.now() + 60_000;
    let status = "";
    while (status !== "APPROVED" && Date.now() < deadline) {
      await page.goto(sheetUrl);
      status = (await page.textContent("#timesheet-status")).trim();
      if (status !== "APPROVED") await new Promise((r) => setTimeout(r, 500));
    }
    assert.equal(status, "APPROVED");
    await page.screenshot({ path: `${shots}/timesheet.png`, fullPage: true });

    // Approving one's own timesheet is refused unless the tenant allows it.
    await page.goto(`${base}/time`);
    await page.selectOption("form[action='/time/entries'] select[name=client_id]", { label: clientName });
    await page.fill("form[action='/time/entries'] input[name=duration]", "30");
    await page.click("form[action='/time/entries'] button[type=submit]");
    await page.waitForSelector("#entries tbody tr");
    await page.click("#timesheets form[action$='/submit'] button[type=submit]");
    await page.waitForURL(/\/time\/sheets\/[0-9a-f-]{36}$/);
    const [own] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith("/approve") && r.request().method() === "POST"),
      page.click("form[action$='/approve'] button[type=submit]"),
    ]);
    assert.equal(own.status(), 403);
    assert.match(await page.textContent("[role=alert]"), /own timesheet/i);
  });
});

test("finance prices a service in the catalogue; a bad price is refused next to its field", async () => {
  await withPage(async (page) => {
    await logIn(page, process.env.KEEL_PASSWORD);
    await page.waitForURL(`${base}/`);
    await page.click("nav a[href='/billing']");
    await page.waitForURL(/\/billing$/);
    await page.click("nav.tabs a[href='/billing/catalogue']");
    await page.waitForURL(/\/billing\/catalogue$/);
    const name = `Managed firewall ${Date.now()}`;
    await page.fill("form[action='/billing/services'] input[name=name]", name);
    await page.selectOption("form[action='/billing/services'] select[name=kind]", "fixed");
    await page.fill("form[action='/billing/services'] input[name=price]", "49.999");
    const [refused] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith("/billing/services") && r.request().method() === "POST"),
      page.click("form[action='/billing/services'] button[type=submit]"),
    ]);
    assert.equal(refused.status(), 422);
    assert.match(await page.textContent(".field-error[data-field=price]"), /amount like 125.00/);
    assert.equal(await page.inputValue("form[action='/billing/services'] input[name=name]"), name, "the form keeps what was typed");
    await page.fill("form[action='/billing/services'] input[name=price]", "49.99");
    await page.click("form[action='/billing/services'] button[type=submit]");
    await page.waitForURL(/\/billing\/catalogue$/);
    const row = page.locator("#services tbody tr", { hasText: name });
    assert.match(await row.textContent(), /USD 49\.99/);
    await page.screenshot({ path: `${shots}/billing-catalogue.png`, fullPage: true });
  });
});

test("finance types a manual invoice, reviews it and finalizes it", async () => {
  await withPage(async (page) => {
    await logIn(page, process.env.KEEL_PASSWORD);
    await page.waitForURL(`${base}/`);
    const name = `Invoiced Clinic ${Date.now()}`;
    await page.goto(`${base}/clients/new`);
    await page.fill("input[name=name]", name);
    await page.click("form[action='/clients'] button[type=submit]");
    await page.waitForURL(/\/clients\/[0-9a-f-]{36}$/);
    const clientId = new URL(page.url()).pathname.split("/").pop();

    await page.click("nav a[href='/billing']");
    await page.waitForURL(/\/billing$/);
    assert.equal((await page.textContent("h1")).trim(), "Billing");
    await page.click("nav.tabs a[href='/billing/invoices']");
    await page.waitForURL(/\/billing\/invoices$/);
    // The filter form above the list shares the action; the new invoice form posts.
    const form = "#new-invoice form[method=post]";
    await page.click("#new-invoice summary");
    await page.selectOption(`${form} select[name=client_id]`, clientId);
    await page.fill(`${form} input[name='lines[0].description']`, "Onsite network audit");
    await page.fill(`${form} input[name='lines[0].quantity']`, "2");
    await page.fill(`${form} input[name='lines[0].unit_price']`, "125.00");
    await page.click(`${form} button[type=submit]`);
    await page.waitForURL(/\/billing\/invoices\/[0-9a-f-]{36}$/);
    assert.equal((await page.textContent("#invoice-number")).trim(), "Draft");
    assert.equal((await page.textContent("#invoice-status")).trim(), "draft");
    assert.match(await page.textContent("#lines"), /Onsite network audit[\s\S]*Typed by hand/);
    assert.match(await page.textContent("#invoice-total"), /250\.00/);

    await page.click("#finalize button[type=submit]");
    await page.locator("#invoice-number", { hasText: /^INV-/ }).waitFor();
    assert.match((await page.textContent("#invoice-number")).trim(), /^INV-\d+$/);
    assert.equal((await page.textContent("#invoice-status")).trim(), "finalized");
    assert.match(await page.textContent("#balance-due"), /250\.00/);
    await page.screenshot({ path: `${shots}/invoice.png`, fullPage: true });

    await page.click(`a[href='/clients/${clientId}#billing']`);
    await page.waitForURL(new RegExp(`/clients/${clientId}#billing$`));
    assert.match(await page.textContent("#client-balance"), /250\.00/);
  });
});
