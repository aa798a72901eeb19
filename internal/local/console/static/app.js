// The teamkeys console: one team's access keys through the public API, with
// a bearer token like any other client. Plain JavaScript, no build step.
//
// Secrets and tokens: the token lives in `session` below and nowhere else
// (no storage, no cookie, no URL); a secret lives in the secret dialog until
// it closes, and in the "Try a key" inputs if the user puts it there. Nothing
// here writes to the console.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const signingRegion = document.body.dataset.signingRegion || 'us-east-1';
  const maxKeys = Number(document.body.dataset.maxKeys) || 2;
  const numberWords = ['no', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'];
  const idPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

  // session: {token, memberId, teamId, role, expiresAt} while signed in.
  let session = null;
  let keys = [];
  // warnDays is the smallest of the team's expiryWarningDays (the key
  // policy): an active key expiring within it is marked in the table.
  let warnDays = 1;
  let auditNextToken = null;
  // The key the secret dialog shows, until the dialog closes.
  let shown = null;

  // ------------------------------------------------------------ API calls

  class ApiError extends Error {
    constructor(status, code, message, requestId) {
      super(message);
      this.status = status;
      this.code = code;
      this.requestId = requestId;
    }
  }

  // api calls the public API with the session's bearer token and answers
  // the parsed JSON body, or throws an ApiError in the API's error shape.
  async function api(method, path, { body, idempotencyKey } = {}) {
    const headers = { Accept: 'application/json' };
    if (session) headers.Authorization = 'Bearer ' + session.token;
    if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey;
    let payload;
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    return send(path, { method, headers, body: payload });
  }

  async function send(path, init) {
    const { text } = await sendRaw(path, init);
    if (!text) return null;
    try { return JSON.parse(text); } catch { return null; }
  }

  // sendRaw answers a success's response and body text, or throws an
  // ApiError in the API's error shape.
  async function sendRaw(path, init) {
    let resp;
    let text;
    try {
      resp = await fetch(path, { ...init, cache: 'no-store', credentials: 'omit', redirect: 'error' });
      text = await resp.text();
    } catch {
      throw new ApiError(0, 'NetworkError', 'The local server did not answer. Is make run still going?', '');
    }
    if (!resp.ok) {
      const requestId = resp.headers.get('x-request-id') || '';
      let data = null;
      try { data = JSON.parse(text); } catch { data = null; }
      const e = (data && data.error) || {};
      throw new ApiError(resp.status, e.code || 'HTTP' + resp.status, e.message || resp.statusText, e.requestId || requestId);
    }
    return { resp, text };
  }

  const teamPath = () => '/v1/teams/' + encodeURIComponent(session.teamId);
  const keyPath = (k) => teamPath() + '/members/' + encodeURIComponent(k.memberId) +
    '/access-keys/' + encodeURIComponent(k.accessKeyId);

  // ------------------------------------------------------------ messages

  function showError(err, where) {
    if (err instanceof ApiError && err.status === 401 && err.code === 'Unauthenticated' && session) {
      signOut();
      err = new ApiError(401, err.code, 'Your sign-in expired or the server restarted with another secret: sign in again.', err.requestId);
    }
    const box = where || $('alert');
    if (box === $('alert')) {
      $('alert-title').textContent = err.code ? err.code : 'Error';
      $('alert-message').textContent = err.message;
      $('alert-meta').textContent = err.requestId ? 'Request id: ' + err.requestId : '';
    } else {
      box.replaceChildren();
      const title = document.createElement('strong');
      title.textContent = err.code || 'Error';
      const msg = document.createElement('p');
      msg.textContent = err.message;
      box.append(title, msg);
      if (err.requestId) {
        const meta = document.createElement('p');
        meta.className = 'alert-meta';
        meta.textContent = 'Request id: ' + err.requestId;
        box.append(meta);
      }
    }
    box.hidden = false;
  }

  function clearError(where) {
    const box = where || $('alert');
    box.hidden = true;
    if (box !== $('alert')) box.replaceChildren();
  }

  function say(text) {
    $('status').textContent = text;
  }

  // capMessage explains a 409 LimitExceeded in words.
  function capMessage(member, rotating) {
    const n = numberWords[maxKeys] || String(maxKeys);
    if (rotating) {
      return member + ' already has ' + n + ' keys, so the new key has no slot during the grace period: ' +
        'rotate with a grace period of 0 (the old key is replaced at once) or delete a key first.';
    }
    return member + ' already has ' + n + ' keys: rotate or delete one.';
  }

  // ------------------------------------------------------------ formatting

  // fmtTime shows an instant in UTC, as the API gives it, to the minute
  // (to the second with seconds): "2026-12-02 15:04".
  function fmtTime(iso, seconds) {
    if (!iso) return '';
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return iso;
    return d.toISOString().slice(0, seconds ? 19 : 16).replace('T', ' ');
  }

  function timeCell(iso, empty, seconds) {
    const td = document.createElement('td');
    if (!iso) {
      td.textContent = empty;
      td.className = 'muted';
      return td;
    }
    const t = document.createElement('time');
    t.dateTime = iso;
    t.title = iso;
    t.textContent = fmtTime(iso, seconds);
    td.append(t);
    return td;
  }

  function textCell(text, className) {
    const td = document.createElement('td');
    td.textContent = text;
    if (className) td.className = className;
    return td;
  }

  // expiryBadge marks an active key that expires within the team's
  // smallest expiry warning threshold: "expires in N days", N the whole
  // days left rounded up, as the AccessKeyExpiring record counts them.
  // Null for any other key.
  function expiryBadge(k) {
    if (k.status !== 'Active' || !k.expiresAt) return null;
    const day = 24 * 60 * 60 * 1000;
    const left = new Date(k.expiresAt).getTime() - Date.now();
    if (!(left > 0) || left > warnDays * day) return null;
    const n = Math.ceil(left / day);
    const box = document.createElement('div');
    const badge = document.createElement('span');
    badge.className = 'status status-expiring';
    badge.textContent = 'expires in ' + n + (n === 1 ? ' day' : ' days');
    badge.title = 'Expires within ' + warnDays + (warnDays === 1 ? ' day' : ' days') +
      ' (the team\'s smallest expiry warning): rotate it, or generate a new one, before then.';
    box.append(badge);
    return box;
  }

  // leakBadge marks a key a leak report disabled: when, and a link to
  // where the secret was found (http and https URLs only).
  function leakBadge(k) {
    const box = document.createElement('div');
    box.className = 'leak';
    const badge = document.createElement('span');
    badge.className = 'status status-leaked';
    badge.textContent = 'Leaked';
    badge.title = 'Reported leaked: it cannot be enabled again. Rotate or delete it.';
    box.append(badge);
    if (k.leakedAt) {
      const at = document.createElement('div');
      at.className = 'sub';
      at.textContent = 'reported ' + new Date(k.leakedAt).toLocaleString();
      at.title = k.leakedAt;
      box.append(at);
    }
    if (k.leakUrl) {
      const where = document.createElement('div');
      where.className = 'sub';
      let url = null;
      try { url = new URL(k.leakUrl); } catch (e) { url = null; }
      if (url && (url.protocol === 'https:' || url.protocol === 'http:')) {
        const a = document.createElement('a');
        a.href = url.href;
        a.target = '_blank';
        a.rel = 'noopener noreferrer';
        a.className = 'leak-url';
        a.textContent = 'where it was found';
        a.title = k.leakUrl;
        where.append(a);
      } else {
        where.textContent = k.leakUrl;
      }
      box.append(where);
    }
    return box;
  }

  // parseList reads a textarea of entries, one per line or comma-separated.
  function parseList(text) {
    return text.split(/[\s,]+/).map((v) => v.trim()).filter((v) => v !== '');
  }

  // listText is a restriction as words: null is unrestricted.
  function listText(list, unrestricted) {
    if (list === null || list === undefined) return unrestricted;
    if (list.length === 0) return 'none';
    return list.join(', ');
  }

  // restrictionsBox shows a key's networks and scopes, under its
  // description: two short lines, the first two entries of each and "+N
  // more" (all of them in the title).
  function restrictionsBox(k) {
    const td = document.createElement('div');
    td.className = 'restrictions';
    for (const [name, list, unrestricted] of [['Networks', k.allowedCidrs, 'any'], ['Scopes', k.scopes, 'all']]) {
      const line = document.createElement('div');
      line.className = 'restriction restriction-' + name.toLowerCase();
      const label = document.createElement('span');
      label.className = 'restriction-name';
      label.textContent = name + ': ';
      const value = document.createElement('span');
      value.className = 'mono';
      const all = listText(list, unrestricted);
      value.textContent = list && list.length > 2 ? list.slice(0, 2).join(', ') + ' +' + (list.length - 2) + ' more' : all;
      line.title = name + ': ' + all;
      line.append(label, value);
      td.append(line);
    }
    return td;
  }

  // scopesField wires a scopes select to its textarea: the list shows only
  // for "Only these scopes".
  function scopesField(select, textarea) {
    const sync = () => { textarea.hidden = select.value !== 'list'; };
    select.addEventListener('change', sync);
    return sync;
  }
  const syncGenerateScopes = scopesField($('generate-scopes-mode'), $('generate-scopes'));
  const syncEditScopes = scopesField($('edit-scopes-mode'), $('edit-scopes'));

  // scopesFrom reads a scopes select and its textarea: undefined (leave the
  // field out), null (every scope), [] or the list.
  function scopesFrom(mode, textarea) {
    switch (mode) {
      case 'all': return null;
      case 'none': return [];
      case 'list': return parseList(textarea.value);
      default: return undefined;
    }
  }

  function button(label, action, key, variant) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'btn btn-small' + (variant ? ' ' + variant : '');
    b.textContent = label;
    b.dataset.action = action;
    b.dataset.keyId = key.accessKeyId;
    b.setAttribute('aria-label', label + ' ' + key.accessKeyId + ' of ' + key.memberId);
    return b;
  }

  // ------------------------------------------------------------ sign in

  $('signin-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearError();
    const memberId = $('signin-member').value.trim();
    const teamId = $('signin-team').value.trim();
    const role = $('signin-role').value;
    for (const [name, v] of [['Member id', memberId], ['Team id', teamId]]) {
      if (!idPattern.test(v)) {
        showError(new ApiError(0, 'ValidationError', name + ' must be 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit.', ''));
        return;
      }
    }
    $('signin-submit').disabled = true;
    try {
      const answer = await send('/console/session', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ memberId, teamId, role }),
      });
      session = { token: answer.token, expiresAt: answer.expiresAt, memberId, teamId, role };
      $('session-member').textContent = memberId;
      $('session-role').textContent = role;
      $('session-team').textContent = teamId;
      $('session-bar').hidden = false;
      $('signin-section').hidden = true;
      $('keys-section').hidden = false;
      $('audit-section').hidden = false;
      $('keys-caption').textContent = 'Access keys of team ' + teamId;
      $('keys-hint').textContent = 'Team ' + teamId + '. Each member holds at most ' + (numberWords[maxKeys] || maxKeys) +
        ' keys, disabled ones included. Signed in until ' + fmtTime(answer.expiresAt) + ' UTC.';
      say('Signed in as ' + memberId + ', ' + role + ' of team ' + teamId + '.');
      await Promise.all([loadKeys(), loadAudit()]);
      $('generate-open').focus();
    } catch (err) {
      showError(err);
    } finally {
      $('signin-submit').disabled = false;
    }
  });

  function signOut() {
    session = null;
    keys = [];
    auditNextToken = null;
    $('keys-body').replaceChildren();
    $('audit-body').replaceChildren();
    $('members').replaceChildren();
    $('session-bar').hidden = true;
    $('keys-section').hidden = true;
    $('audit-section').hidden = true;
    $('signin-section').hidden = false;
    for (const d of document.querySelectorAll('dialog[open]')) d.close();
    $('try-form').reset();
    $('try-result').hidden = true;
    say('Signed out.');
    $('signin-member').focus();
  }

  $('signout').addEventListener('click', () => { clearError(); signOut(); });
  $('alert-dismiss').addEventListener('click', () => clearError());

  // ------------------------------------------------------------ keys

  // loadWarnDays reads the smallest of the team's expiry warning
  // thresholds. A caller who may not read the key policy (403), or a read
  // that fails, gets the default policy's smallest, 1 day: the mark is a
  // hint, the key list is what matters.
  async function loadWarnDays() {
    try {
      const policy = await api('GET', teamPath() + '/key-policy');
      const days = (policy && policy.expiryWarningDays) || [];
      warnDays = days.length ? Math.min(...days) : 1;
    } catch {
      warnDays = 1;
    }
  }

  // loadKeys reads the team's keys and renders the table. While a load
  // runs, body[data-keys-loading] counts the loads in flight: the table may
  // be replaced under a reader (the browser tests wait for it to go).
  async function loadKeys() {
    if (!session) return;
    const body = document.body.dataset;
    body.keysLoading = String(Number(body.keysLoading || 0) + 1);
    try {
      await loadWarnDays();
      const all = [];
      let next = null;
      do {
        const q = new URLSearchParams({ limit: '100' });
        if (next) q.set('nextToken', next);
        const page = await api('GET', teamPath() + '/access-keys?' + q);
        all.push(...page.accessKeys);
        next = page.nextToken;
      } while (next);
      all.sort((a, b) => a.memberId.localeCompare(b.memberId) || a.createdAt.localeCompare(b.createdAt) ||
        a.accessKeyId.localeCompare(b.accessKeyId));
      keys = all;
      renderKeys();
    } finally {
      const left = Number(body.keysLoading) - 1;
      if (left > 0) body.keysLoading = String(left); else delete body.keysLoading;
    }
  }

  function renderKeys() {
    const rows = keys.map((k) => {
      const tr = document.createElement('tr');
      tr.dataset.keyId = k.accessKeyId;
      tr.append(textCell(k.memberId, 'member'));
      const id = textCell(k.accessKeyId, 'mono');
      if (k.rotatedFrom) {
        const from = document.createElement('div');
        from.className = 'sub';
        from.textContent = 'rotated from ' + k.rotatedFrom;
        id.append(from);
      }
      tr.append(id);
      const description = document.createElement('td');
      description.className = 'description';
      const text = document.createElement('div');
      text.textContent = k.description || '—';
      if (!k.description) text.className = 'muted';
      description.append(text, restrictionsBox(k));
      tr.append(description);
      const status = document.createElement('td');
      const badge = document.createElement('span');
      badge.className = 'status status-' + k.status.toLowerCase();
      badge.textContent = k.status;
      status.append(badge);
      const leaked = k.leakedAt || k.leakUrl;
      if (leaked) status.append(leakBadge(k));
      tr.append(status);
      tr.append(timeCell(k.createdAt, ''));
      const expires = timeCell(k.expiresAt, 'Never');
      const expiring = expiryBadge(k);
      if (expiring) expires.append(expiring);
      tr.append(expires);
      const used = timeCell(k.lastUsedAt, 'Never');
      if (k.lastUsedAt) {
        for (const line of ['from ' + (k.lastUsedSourceIp || 'an unknown address'), k.lastUsedScheme]) {
          if (!line) continue;
          const sub = document.createElement('div');
          sub.className = 'sub';
          sub.textContent = line;
          used.append(sub);
        }
      }
      tr.append(used);
      const actions = document.createElement('td');
      actions.className = 'actions';
      if (k.status === 'Inactive' && leaked) {
        // A leaked key is never enabled again (the API answers 409 KeyLeaked).
        const b = button('Enable', 'enable', k);
        b.disabled = true;
        b.title = 'Reported leaked: it cannot be enabled again. Rotate or delete it.';
        actions.append(b);
      } else if (k.status === 'Inactive') actions.append(button('Enable', 'enable', k));
      else if (k.status === 'Active') actions.append(button('Disable', 'disable', k));
      actions.append(button('Edit', 'edit', k));
      if (k.status !== 'Expired') actions.append(button('Rotate', 'rotate', k));
      actions.append(button('Delete', 'delete', k, 'btn-danger-text'));
      tr.append(actions);
      return tr;
    });
    $('keys-body').replaceChildren(...rows);
    $('keys-empty').hidden = keys.length > 0;
    $('keys-table').parentElement.hidden = keys.length === 0;
    $('keys-count').textContent = '(' + keys.length + ')';
    const members = [...new Set(keys.map((k) => k.memberId))].sort();
    $('members').replaceChildren(...members.map((m) => {
      const o = document.createElement('option');
      o.value = m;
      return o;
    }));
  }

  // ------------------------------------------------------------ report

  // nextLink is the target of a Link header's rel="next", resolved against
  // the URL of the page that sent it (the API names it relative to that).
  function nextLink(link, base) {
    for (const part of (link || '').split(',')) {
      const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
      if (m && /(^|;)\s*rel\s*=\s*"?next"?\s*(;|$)/i.test(m[2])) {
        const u = new URL(m[1], new URL(base, location.href));
        if (u.origin !== location.origin) throw new ApiError(0, 'BadLink', 'The report named a next page on another site.', '');
        return u.pathname + u.search;
      }
    }
    return null;
  }

  // csvRows counts the records of CSV text (a quoted cell may hold a line
  // break).
  function csvRows(text) {
    let rows = 0;
    let quoted = false;
    for (const c of text) {
      if (c === '"') quoted = !quoted;
      else if (c === '\n' && !quoted) rows++;
    }
    return rows;
  }

  // The credential report comes a page at a time (each under 5 MB): follow
  // every page's Link into one .csv, its header row once, saying how far
  // it is. A page that fails fails the download: nothing is saved.
  $('report-download').addEventListener('click', async () => {
    if (!session) return;
    clearError();
    const btn = $('report-download');
    btn.disabled = true;
    const parts = [];
    let header = null;
    let pages = 0;
    let rows = 0;
    const progress = () => pages + (pages === 1 ? ' page, ' : ' pages, ') + rows.toLocaleString('en-US') + (rows === 1 ? ' key' : ' keys');
    let url = teamPath() + '/access-keys/report?format=csv';
    say('Credential report: reading…');
    try {
      while (url) {
        const { resp, text } = await sendRaw(url, { headers: { Accept: 'text/csv', Authorization: 'Bearer ' + session.token } });
        const nl = text.indexOf('\n');
        if (nl < 0 || (header !== null && text.slice(0, nl + 1) !== header)) {
          throw new ApiError(0, 'BadReport', 'A page of the report did not start with its header row.', resp.headers.get('x-request-id') || '');
        }
        if (header === null) {
          header = text.slice(0, nl + 1);
          parts.push(header);
        }
        const body = text.slice(nl + 1);
        parts.push(body);
        pages++;
        rows += csvRows(body);
        say('Credential report: ' + progress() + '…');
        url = nextLink(resp.headers.get('link'), url);
      }
      const name = 'teamkeys-' + session.teamId + '-credential-report.csv';
      const href = URL.createObjectURL(new Blob(parts, { type: 'text/csv' }));
      const a = document.createElement('a');
      a.href = href;
      a.download = name;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(href), 1000);
      say('Downloaded ' + name + ': ' + progress() + '.');
    } catch (err) {
      say('Credential report not downloaded: ' + progress() + ' read before the error.');
      showError(err);
    } finally {
      btn.disabled = false;
    }
  });

  $('keys-refresh').addEventListener('click', async () => {
    clearError();
    try {
      await Promise.all([loadKeys(), loadAudit()]);
      say('Refreshed.');
    } catch (err) { showError(err); }
  });

  $('keys-body').addEventListener('click', async (ev) => {
    const b = ev.target.closest('button[data-action]');
    if (!b) return;
    const key = keys.find((k) => k.accessKeyId === b.dataset.keyId);
    if (!key) return;
    clearError();
    const who = key.accessKeyId + ' of ' + key.memberId;
    try {
      switch (b.dataset.action) {
        case 'disable':
          if (!await confirmAction('Disable access key', 'Disable key ' + who + '? Requests signed with it are refused until it is enabled again.', 'Disable key', b)) return;
          await api('POST', keyPath(key) + '/disable');
          say('Disabled ' + who + '.');
          break;
        case 'enable':
          await api('POST', keyPath(key) + '/enable');
          say('Enabled ' + who + '.');
          break;
        case 'delete':
          if (!await confirmAction('Delete access key', 'Delete key ' + who + '? It stops working at once and cannot be restored; its slot is freed.', 'Delete key', b)) return;
          await api('DELETE', keyPath(key));
          say('Deleted ' + who + '.');
          break;
        case 'rotate':
          openRotate(key, b);
          return;
        case 'edit':
          openEdit(key, b);
          return;
      }
      await afterChange();
    } catch (err) {
      showError(err);
      await afterChange().catch(() => {});
    }
  });

  async function afterChange() {
    await Promise.all([loadKeys(), loadAudit()]);
  }

  // ------------------------------------------------------------ dialogs

  // Each dialog gets focus when it opens and gives it back when it closes
  // (Escape closes it, natively).
  function openDialog(dialog, opener, focus) {
    dialog.returnFocusTo = opener || document.activeElement;
    dialog.showModal();
    if (focus) focus.focus();
  }

  for (const dialog of document.querySelectorAll('dialog')) {
    dialog.addEventListener('close', () => {
      let target = dialog.returnFocusTo;
      if (!target || !target.isConnected) target = session ? $('generate-open') : $('signin-member');
      target.focus();
    });
    for (const b of dialog.querySelectorAll('[data-close]')) b.addEventListener('click', () => dialog.close());
  }

  // confirmAction asks in the page's own dialog; it answers true on confirm.
  function confirmAction(title, message, confirmLabel, opener) {
    const dialog = $('confirm-dialog');
    $('confirm-title').textContent = title;
    $('confirm-message').textContent = message;
    $('confirm-ok').textContent = confirmLabel;
    return new Promise((resolve) => {
      let answer = false;
      const ok = () => { answer = true; dialog.close(); };
      const cancel = () => dialog.close();
      $('confirm-ok').addEventListener('click', ok);
      $('confirm-cancel').addEventListener('click', cancel);
      dialog.addEventListener('close', () => {
        $('confirm-ok').removeEventListener('click', ok);
        $('confirm-cancel').removeEventListener('click', cancel);
        resolve(answer);
      }, { once: true });
      // Cancel is the safe default under the keyboard.
      openDialog(dialog, opener, $('confirm-cancel'));
    });
  }

  // ------------------------------------------------------------ generate

  // One Idempotency-Key per opening of the dialog: a retry of the same
  // dialog (a double click, a lost answer) replays the first 201 instead of
  // making a second key.
  let generateIdempotencyKey = null;

  $('generate-open').addEventListener('click', (ev) => {
    clearError();
    clearError($('generate-alert'));
    $('generate-form').reset();
    syncGenerateScopes();
    const now = new Date(Date.now() - new Date().getTimezoneOffset() * 60000);
    $('generate-expires').min = now.toISOString().slice(0, 16);
    generateIdempotencyKey = crypto.randomUUID();
    openDialog($('generate-dialog'), ev.currentTarget, $('generate-member'));
  });

  $('generate-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const alertBox = $('generate-alert');
    clearError(alertBox);
    const member = $('generate-member').value.trim();
    if (!idPattern.test(member)) {
      showError(new ApiError(0, 'ValidationError', 'Member id must be 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit.', ''), alertBox);
      $('generate-member').focus();
      return;
    }
    const body = {};
    const description = $('generate-description').value.trim();
    if (description) body.description = description;
    const expires = $('generate-expires').value;
    if (expires) {
      const at = new Date(expires); // a datetime-local value is local time
      if (Number.isNaN(at.getTime())) {
        showError(new ApiError(0, 'ValidationError', 'Expires is not a date and time.', ''), alertBox);
        return;
      }
      body.expiresAt = at.toISOString().replace(/\.\d{3}Z$/, 'Z');
    }
    // Empty networks: the field is left out (any source address); the
    // service names an entry it can't read.
    const cidrs = parseList($('generate-cidrs').value);
    if (cidrs.length > 0) body.allowedCidrs = cidrs;
    const scopes = scopesFrom($('generate-scopes-mode').value, $('generate-scopes'));
    if (scopes !== undefined) body.scopes = scopes;
    $('generate-confirm').disabled = true;
    try {
      const created = await api('POST', teamPath() + '/members/' + encodeURIComponent(member) + '/access-keys',
        { body, idempotencyKey: generateIdempotencyKey });
      $('generate-dialog').close();
      say('Generated ' + created.accessKeyId + ' for ' + created.memberId + '.');
      showSecret(created, 'Access key created', 'For ' + created.memberId + ' of team ' + created.teamId + '.');
      afterChange().catch((err) => showError(err));
    } catch (err) {
      if (err instanceof ApiError && err.status === 409 && err.code === 'LimitExceeded') {
        err = new ApiError(409, 'LimitExceeded', capMessage(member, false), err.requestId);
      }
      showError(err, alertBox);
    } finally {
      $('generate-confirm').disabled = false;
    }
  });

  // ------------------------------------------------------------ edit

  let editing = null;

  function openEdit(key, opener) {
    editing = key;
    $('edit-form').reset();
    clearError($('edit-alert'));
    $('edit-message').textContent = 'Key ' + key.accessKeyId + ' of ' + key.memberId + '.';
    $('edit-description').value = key.description || '';
    $('edit-cidrs').value = (key.allowedCidrs || []).join('\n');
    $('edit-scopes-mode').value = key.scopes === null || key.scopes === undefined ? 'all' : key.scopes.length === 0 ? 'none' : 'list';
    $('edit-scopes').value = (key.scopes || []).join('\n');
    syncEditScopes();
    openDialog($('edit-dialog'), opener, $('edit-description'));
  }

  const sameList = (a, b) => JSON.stringify(a === undefined ? null : a) === JSON.stringify(b === undefined ? null : b);

  // Only what changed is sent (PATCH): a team policy with networks refuses
  // an update naming allowedCidrs outside them, even unchanged ones.
  $('edit-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const key = editing;
    const alertBox = $('edit-alert');
    clearError(alertBox);
    const body = {};
    const description = $('edit-description').value.trim();
    if (description !== (key.description || '')) body.description = description;
    const entered = parseList($('edit-cidrs').value);
    const cidrs = entered.length > 0 ? entered : null;
    if (!sameList(cidrs, key.allowedCidrs)) body.allowedCidrs = cidrs;
    const scopes = scopesFrom($('edit-scopes-mode').value, $('edit-scopes'));
    if (!sameList(scopes, key.scopes)) body.scopes = scopes;
    if (Object.keys(body).length === 0) {
      $('edit-dialog').close();
      say('Nothing changed on ' + key.accessKeyId + '.');
      return;
    }
    $('edit-confirm').disabled = true;
    try {
      const updated = await api('PATCH', keyPath(key), { body });
      $('edit-dialog').close();
      say('Updated ' + updated.accessKeyId + ' of ' + updated.memberId + ': networks ' + listText(updated.allowedCidrs, 'any') +
        '; scopes ' + listText(updated.scopes, 'all') + '.');
      await afterChange();
    } catch (err) {
      showError(err, alertBox);
    } finally {
      $('edit-confirm').disabled = false;
    }
  });

  // ------------------------------------------------------------ rotate

  let rotating = null;
  let rotateIdempotencyKey = null;

  function openRotate(key, opener) {
    rotating = key;
    rotateIdempotencyKey = crypto.randomUUID();
    $('rotate-form').reset();
    clearError($('rotate-alert'));
    $('rotate-message').textContent = 'Rotate key ' + key.accessKeyId + ' of ' + key.memberId +
      ': a new key is made for ' + key.memberId + ' and shown once; the old key expires after the grace period.';
    $('rotate-description').placeholder = key.description || 'the old key\'s';
    openDialog($('rotate-dialog'), opener, $('rotate-grace'));
  }

  $('rotate-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const key = rotating;
    const alertBox = $('rotate-alert');
    clearError(alertBox);
    const grace = Number($('rotate-grace').value);
    if (!Number.isInteger(grace) || grace < 0 || grace > 604800) {
      showError(new ApiError(0, 'ValidationError', 'The grace period is a whole number of seconds from 0 to 604800.', ''), alertBox);
      return;
    }
    const body = { gracePeriodSeconds: grace };
    const description = $('rotate-description').value.trim();
    if (description) body.description = description;
    $('rotate-confirm').disabled = true;
    try {
      const created = await api('POST', keyPath(key) + '/rotate', { body, idempotencyKey: rotateIdempotencyKey });
      $('rotate-dialog').close();
      say('Rotated ' + key.accessKeyId + ' to ' + created.accessKeyId + '.');
      showSecret(created, 'Access key rotated', 'For ' + created.memberId + ', replacing ' + key.accessKeyId +
        (grace > 0 ? ', which keeps working for ' + grace + ' seconds.' : ', which is deleted.'));
      afterChange().catch((err) => showError(err));
    } catch (err) {
      if (err instanceof ApiError && err.status === 409 && err.code === 'LimitExceeded') {
        err = new ApiError(409, 'LimitExceeded', capMessage(key.memberId, true), err.requestId);
      }
      showError(err, alertBox);
    } finally {
      $('rotate-confirm').disabled = false;
    }
  });

  // ------------------------------------------------------------ the secret, once

  function showSecret(created, title, subtitle) {
    shown = { accessKeyId: created.accessKeyId, secretAccessKey: created.secretAccessKey };
    $('secret-title').textContent = title;
    $('secret-subtitle').textContent = subtitle;
    $('secret-key-id').value = shown.accessKeyId;
    $('secret-value').value = shown.secretAccessKey;
    $('secret-copied').textContent = '';
    openDialog($('secret-dialog'), $('generate-open'), $('secret-copy'));
  }

  let csvURL = null;
  function revokeCSV() {
    if (csvURL) URL.revokeObjectURL(csvURL);
    csvURL = null;
  }

  // Closing the dialog, however it closes, forgets the secret.
  $('secret-dialog').addEventListener('close', () => {
    shown = null;
    $('secret-key-id').value = '';
    $('secret-value').value = '';
    $('secret-copied').textContent = '';
    revokeCSV();
  });

  async function copy(input, what) {
    try {
      await navigator.clipboard.writeText(input.value);
      $('secret-copied').textContent = what + ' copied to the clipboard.';
    } catch {
      // No clipboard permission: select the text for Ctrl+C instead.
      input.focus();
      input.select();
      $('secret-copied').textContent = what + ' selected: press Ctrl+C (⌘C) to copy it.';
    }
  }
  $('secret-copy-id').addEventListener('click', () => copy($('secret-key-id'), 'Access key id'));
  $('secret-copy').addEventListener('click', () => copy($('secret-value'), 'Secret access key'));

  // The .csv AWS's console offers, with the same header.
  $('secret-download').addEventListener('click', () => {
    if (!shown) return;
    revokeCSV();
    const csv = 'Access key ID,Secret access key\r\n' + shown.accessKeyId + ',' + shown.secretAccessKey + '\r\n';
    csvURL = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }));
    const a = document.createElement('a');
    a.href = csvURL;
    a.download = shown.accessKeyId + '_accessKeys.csv';
    document.body.append(a);
    a.click();
    a.remove();
    // The download has its own copy once started; the blob goes soon after.
    setTimeout(revokeCSV, 1000);
    $('secret-copied').textContent = 'Downloaded ' + shown.accessKeyId + '_accessKeys.csv.';
  });

  $('secret-try').addEventListener('click', () => {
    if (!shown) return;
    $('try-key-id').value = shown.accessKeyId;
    $('try-secret').value = shown.secretAccessKey;
    $('secret-dialog').returnFocusTo = $('try-send');
    $('secret-dialog').close();
    $('try-section').scrollIntoView({ block: 'nearest' });
  });

  $('secret-done').addEventListener('click', () => $('secret-dialog').close());

  // ------------------------------------------------------------ try a key (SigV4 in the browser)

  const encoder = new TextEncoder();
  const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, '0')).join('');
  const sha256Hex = async (s) => hex(await crypto.subtle.digest('SHA-256', encoder.encode(s)));
  async function hmac(key, data) {
    const k = await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    return crypto.subtle.sign('HMAC', k, encoder.encode(data));
  }

  // sigV4Headers signs GET path (no query, no body) as curl --aws-sigv4
  // does: host and x-amz-date, the empty body's hash.
  async function sigV4Headers(method, path, accessKeyId, secret, now) {
    const amzDate = now.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
    const date = amzDate.slice(0, 8);
    const scope = date + '/' + signingRegion + '/teamkeys/aws4_request';
    const canonical = [method, path, '', 'host:' + location.host + '\nx-amz-date:' + amzDate + '\n',
      'host;x-amz-date', await sha256Hex('')].join('\n');
    const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, await sha256Hex(canonical)].join('\n');
    let k = await hmac(encoder.encode('AWS4' + secret), date);
    for (const part of [signingRegion, 'teamkeys', 'aws4_request']) k = await hmac(k, part);
    const signature = hex(await hmac(k, toSign));
    return {
      'X-Amz-Date': amzDate,
      Authorization: 'AWS4-HMAC-SHA256 Credential=' + accessKeyId + '/' + scope +
        ', SignedHeaders=host;x-amz-date, Signature=' + signature,
    };
  }

  $('try-region').textContent = signingRegion;

  $('try-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearError();
    $('try-result').hidden = true;
    const accessKeyId = $('try-key-id').value.trim();
    const secret = $('try-secret').value.trim();
    if (!accessKeyId || !secret) {
      showError(new ApiError(0, 'ValidationError', 'Enter an access key id and its secret access key.', ''));
      return;
    }
    if (!window.crypto || !crypto.subtle) {
      showError(new ApiError(0, 'NoWebCrypto', 'This browser offers no WebCrypto here: open the console at http://127.0.0.1 or http://localhost.', ''));
      return;
    }
    $('try-send').disabled = true;
    try {
      const headers = await sigV4Headers('GET', '/v1/whoami', accessKeyId, secret, new Date());
      const me = await send('/v1/whoami', { method: 'GET', headers: { Accept: 'application/json', ...headers } });
      $('try-member').textContent = me.memberId;
      $('try-team').textContent = me.teamId;
      $('try-answer-key').textContent = me.accessKeyId;
      $('try-scheme').textContent = me.scheme;
      $('try-cidrs').textContent = listText(me.allowedCidrs, 'any');
      $('try-scopes').textContent = listText(me.scopes, 'all');
      $('try-result').hidden = false;
      say('The service verified the signature: the key is ' + me.memberId + '\'s of team ' + me.teamId + '.');
      if (session) loadKeys().catch(() => {}); // the key's last use shows now
    } catch (err) {
      showError(err);
    } finally {
      $('try-send').disabled = false;
    }
  });

  $('try-clear').addEventListener('click', () => {
    $('try-form').reset();
    $('try-result').hidden = true;
    $('try-key-id').focus();
  });

  // ------------------------------------------------------------ audit events

  async function loadAudit(more) {
    if (!session) return;
    const q = new URLSearchParams({ limit: '50' });
    if (more && auditNextToken) q.set('nextToken', auditNextToken);
    const page = await api('GET', teamPath() + '/audit-events?' + q);
    const rows = page.auditEvents.map((e) => {
      const tr = document.createElement('tr');
      tr.append(timeCell(e.time, '', true));
      tr.append(textCell(e.action, 'action'));
      tr.append(textCell(e.memberId || '—', e.memberId ? '' : 'muted'));
      tr.append(textCell(e.accessKeyId || '—', e.accessKeyId ? 'mono' : 'muted'));
      const actor = e.actor || {};
      const who = textCell(actor.sub ? actor.sub : actor.type, '');
      const detail = document.createElement('div');
      detail.className = 'sub';
      detail.textContent = actor.type + (actor.sourceIp ? ' · ' + actor.sourceIp : '');
      who.append(detail);
      tr.append(who);
      tr.append(textCell(auditDetails(e), 'sub-cell'));
      return tr;
    });
    if (more) $('audit-body').append(...rows);
    else $('audit-body').replaceChildren(...rows);
    auditNextToken = page.nextToken;
    $('audit-more').hidden = !auditNextToken;
    $('audit-empty').hidden = $('audit-body').children.length > 0;
    $('audit-table').parentElement.hidden = $('audit-body').children.length === 0;
  }

  function auditDetails(e) {
    const c = e.changes || {};
    const parts = [];
    if (c.statusBefore && c.statusAfter && c.statusBefore !== c.statusAfter) parts.push(c.statusBefore + ' → ' + c.statusAfter);
    else if (!c.statusBefore && c.statusAfter) parts.push('status ' + c.statusAfter);
    if (c.rotatedFrom) parts.push('from ' + c.rotatedFrom);
    if (c.expiresAt) parts.push('expires ' + fmtTime(c.expiresAt) + ' UTC');
    if (c.maxLifetimeDays) parts.push('max lifetime ' + c.maxLifetimeDays + ' days');
    if (c.description) parts.push('description "' + (c.description.before || '') + '" → "' + (c.description.after || '') + '"');
    if (c.allowedCidrs) parts.push('networks ' + listText(c.allowedCidrs.before, 'any') + ' → ' + listText(c.allowedCidrs.after, 'any'));
    if (c.scopes) parts.push('scopes ' + listText(c.scopes.before, 'all') + ' → ' + listText(c.scopes.after, 'all'));
    if (e.leak && e.leak.source) parts.push('leak: ' + e.leak.source);
    return parts.join('; ');
  }

  $('audit-more').addEventListener('click', async () => {
    clearError();
    try { await loadAudit(true); } catch (err) { showError(err); }
  });
  $('audit-refresh').addEventListener('click', async () => {
    clearError();
    try { await loadAudit(); } catch (err) { showError(err); }
  });
})();
