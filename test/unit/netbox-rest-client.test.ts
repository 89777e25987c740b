import { estateOf, type VmSpec } from '../../bin/sandbox/netbox-proxbox/estate';
import { startNetboxProxboxSimulator, type NetboxProxboxSimulator } from '../../bin/sandbox/netbox-proxbox';
import { apiRoot, authorizationHeader, likelyViewPermission, NetboxRestClient } from '../../functions/netbox-rest/client';

const VMS: VmSpec[] = Array.from({ length: 7 }, (_, index) => ({ id: index + 1, name: `vm-${index + 1}`, link: 'proxmox_vm_id' as const, vmid: 100 + index }));

let simulator: NetboxProxboxSimulator;

beforeEach(async () => {
  simulator = await startNetboxProxboxSimulator({ estate: estateOf(VMS, [{ id: 1, jobId: 'job-1', selection: [100] }]), maxPageSize: 3 });
});

afterEach(async () => {
  await simulator.stop();
});

function clientFor(options: { token?: string; maxPages?: number; pageSize?: number } = {}): NetboxRestClient {
  return new NetboxRestClient({
    baseUrl: simulator.url,
    token: options.token ?? simulator.token,
    tokenLabel: 'the NetBox token of target "dc1" (credentials.env NETBOX_TOKEN)',
    timeoutMs: 5000,
    ...(options.pageSize !== undefined ? { pageSize: options.pageSize } : {}),
    ...(options.maxPages !== undefined ? { maxPages: options.maxPages } : {}),
  });
}

const names = (item: unknown): string => (item as { name: string }).name;

describe('pagination', () => {
  test('follows next across pages the server cut to its MAX_PAGE_SIZE, asking for a large limit first', async () => {
    // Act
    const items = await clientFor().list('virtualization/virtual-machines/', { operation: 'list virtual machines' }, names);

    // Assess
    expect(items).toEqual(VMS.map((vm) => vm.name));
    const asked = simulator.requests.map((request) => [request.query.limit, request.query.offset ?? '0']);
    expect(asked).toEqual([
      ['1000', '0'],
      ['3', '3'],
      ['3', '6'],
    ]);
  });

  test('VM lists exclude config_context; brief is asked for only when wanted', async () => {
    // Act
    await clientFor().list('virtualization/virtual-machines/', { operation: 'list virtual machines' }, names);
    const brief = await clientFor().list('plugins/proxbox/backup-routines/', { operation: 'list routines', brief: true }, (item) => Object.keys(item as object).sort());

    // Assess
    expect(simulator.requests.filter((request) => request.path.includes('virtual-machines')).every((request) => request.query.exclude === 'config_context')).toBe(true);
    expect(brief).toEqual([['display', 'id', 'url']]);
    expect(simulator.requests.find((request) => request.path.includes('backup-routines'))?.query).toMatchObject({ brief: '1' });
  });

  test('a next link on another origin is not followed: the token would go there', async () => {
    // Prepare
    simulator.nextLinkOrigin('http://127.0.0.2:9');

    // Act
    const listing = clientFor().list('virtualization/virtual-machines/', { operation: 'list virtual machines' }, names);

    // Assess
    await expect(listing).rejects.toMatchObject({ name: 'InconsistentPagination', message: expect.stringContaining('http://127.0.0.2:9') });
    expect(simulator.requests).toHaveLength(1);
  });

  test('a next link whose offset does not move forward stops the listing', async () => {
    // Prepare
    simulator.loopNextLinks('virtual-machines');

    // Act
    const listing = clientFor().list('virtualization/virtual-machines/', { operation: 'list virtual machines' }, names);

    // Assess
    await expect(listing).rejects.toMatchObject({ name: 'InconsistentPagination', message: expect.stringContaining('does not move forward') });
  });

  test('no more than maxPages pages are read', async () => {
    // Act
    const listing = clientFor({ maxPages: 2 }).list('virtualization/virtual-machines/', { operation: 'list virtual machines' }, names);

    // Assess
    await expect(listing).rejects.toMatchObject({ name: 'InconsistentPagination', message: expect.stringContaining('more than 2 pages') });
  });
});

describe('a list is whole only when its distinct ids match the count at the end (issue: never "covered" from a partial read)', () => {
  const listVms = (client = clientFor()): Promise<string[]> => client.list('virtualization/virtual-machines/', { operation: 'list virtual machines' }, names);
  const failure = (promise: Promise<unknown>): Promise<Error> =>
    promise.then(
      () => new Error('expected a failure, the list was read'),
      (caught: unknown) => caught as Error,
    );

  test('VMs added while page 2 is read shift the pages: the list is read again and is whole the second time', async () => {
    // Prepare: on the first read only, three VMs are added (sorted before the rest, as names can be) while page 2 is asked for.
    let added = false;
    simulator.onListRequest(({ offset }) => {
      if (offset !== 3 || added) return;
      added = true;
      simulator.estate.virtualMachines.unshift(...estateOf([0, 1, 2].map((index) => ({ id: 50 + index, name: `new-${index}`, link: 'proxmox_vm_id' as const, vmid: 500 + index })), []).virtualMachines);
    });

    // Act
    const items = await listVms();

    // Assess
    expect(items).toHaveLength(10);
    expect(new Set(items).size).toBe(10);
    expect(items).toEqual(expect.arrayContaining(['new-0', 'new-1', 'new-2', 'vm-7']));
  });

  test('a list that keeps growing while it is read fails with InconsistentPagination naming what NetBox did, after three reads', async () => {
    // Prepare: every read of page 2 adds a VM at the front.
    let next = 50;
    simulator.onListRequest(({ offset }) => {
      if (offset === 3) simulator.estate.virtualMachines.unshift(...estateOf([{ id: next, name: `new-${next++}`, link: 'proxmox_vm_id' as const, vmid: next }], []).virtualMachines);
    });

    // Act
    const error = await failure(listVms());

    // Assess
    const last = simulator.requests.at(-1);
    expect(error).toMatchObject({ name: 'InconsistentPagination' });
    expect(error.message).toContain('read twice (the pages shifted)');
    expect(error.message).toMatch(/count went from 9 on the first page to 10 on the last: the list changed while it was read/);
    expect(error.message).toContain(`X-Request-ID ${last?.requestId ?? '?'}`);
    expect(error.message).toContain('read 3 times');
    expect(simulator.requests.filter((request) => request.query.offset === undefined)).toHaveLength(3);
  });

  test('a next that ends before count is reached fails with InconsistentPagination: nothing is decided from the part read', async () => {
    // Prepare
    simulator.endListsEarly('virtual-machines', 3);

    // Act
    const error = await failure(listVms());

    // Assess
    expect(error).toMatchObject({ name: 'InconsistentPagination', message: expect.stringContaining('the pages held 3 distinct objects, but NetBox\'s count on the last page') });
    expect(error.message).toContain('says 7');
    expect(error.message).toContain('"next" ended before the list did');
  });

  test('a body cut off mid-stream is a TransientApiError saying so in words, with the X-Request-ID', async () => {
    // Prepare
    simulator.cutBodies({ pathIncludes: 'virtual-machines' });

    // Act
    const error = await failure(listVms());

    // Assess
    expect(error).toMatchObject({ name: 'TransientApiError', message: expect.stringContaining('the connection broke while NetBox was sending its answer') });
    expect(error.message).toContain(`X-Request-ID ${simulator.requests[0]?.requestId ?? '?'}`);
    expect(error.message).not.toMatch(/TypeError|terminated/);
  });

  test('an answer that is not JSON, or has no results, quotes the X-Request-ID of that answer', async () => {
    // Prepare
    simulator.failNext({ pathIncludes: 'virtual-machines' }, 200, { raw: '{"count": 7, "results": [' });
    simulator.failNext({ pathIncludes: 'backup-routines' }, 200, { body: { detail: 'ok' } });

    // Act
    const malformed = await failure(listVms());
    const noResults = await failure(clientFor().list('plugins/proxbox/backup-routines/', { operation: 'list Proxbox backup routines' }, names));

    // Assess
    const [first, second] = simulator.requests;
    expect(malformed).toMatchObject({ name: 'VendorApiError', message: expect.stringContaining(`is not JSON`) });
    expect(malformed.message).toContain(`X-Request-ID ${first?.requestId ?? '?'}`);
    expect(noResults.message).toContain(`no "results" array) (X-Request-ID ${second?.requestId ?? '?'})`);
  });

  test('a looping or foreign next quotes the X-Request-ID of the answer that carried it', async () => {
    // Prepare
    simulator.loopNextLinks('virtual-machines');

    // Act
    const looping = await failure(listVms());
    simulator.loopNextLinks(undefined);
    simulator.nextLinkOrigin('http://127.0.0.2:9');
    const foreign = await failure(listVms());

    // Assess
    const ids = simulator.requests.map((request) => request.requestId);
    expect(looping.message).toContain(`X-Request-ID ${ids[1] ?? '?'}`);
    expect(foreign.message).toContain(`X-Request-ID ${ids.at(-1) ?? '?'}`);
  });
});

describe('requests', () => {
  test('every path gets its trailing slash and goes below /api/ of the base URL', () => {
    // Act
    const url = clientFor().urlFor('plugins/proxbox/backups', { q: 'x' });

    // Assess
    expect(url.href).toBe(`${simulator.url}/api/plugins/proxbox/backups/?q=x`);
    expect(apiRoot('https://netbox.example/netbox/').href).toBe('https://netbox.example/netbox/api/');
  });

  test('a v1 token goes as Token, a v2 token as Bearer, and both are accepted', async () => {
    // Act
    await clientFor().list('plugins/proxbox/backup-routines/', { operation: 'list routines' }, names);
    await clientFor({ token: simulator.v2Token }).list('plugins/proxbox/backup-routines/', { operation: 'list routines' }, names);

    // Assess
    expect(authorizationHeader('0123456789abcdef0123456789abcdef01234567')).toBe('Token 0123456789abcdef0123456789abcdef01234567');
    expect(authorizationHeader('nbt_abc.def')).toBe('Bearer nbt_abc.def');
    expect(simulator.requests.map((request) => request.auth)).toEqual(['v1', 'v2']);
  });
});

describe('errors', () => {
  test('a 403 for a missing permission names the token and the permission, quotes the X-Request-ID, and never the token', async () => {
    // Prepare
    simulator.denyPermission('backup-routines');

    // Act
    const error = (await clientFor().list('plugins/proxbox/backup-routines/', { operation: 'list Proxbox backup routines' }, names).catch((caught: unknown) => caught)) as Error;

    // Assess
    const requestId = simulator.requests[0]?.requestId ?? 'none';
    expect(error.name).toBe('NotAuthorized');
    expect(error.message).toContain('the NetBox token of target "dc1" (credentials.env NETBOX_TOKEN)');
    expect(error.message).toContain('netbox_proxbox.view_backuprout');
    expect(error.message).toContain(`X-Request-ID ${requestId}`);
    expect(error.message).toContain('You do not have permission');
    expect(error.message).not.toContain(simulator.token);
  });

  test('a refused token is NotAuthorized naming the token as not accepted, with the X-Request-ID', async () => {
    // Act
    const error = (await clientFor({ token: 'ffffffffffffffffffffffffffffffffffffffff' })
      .list('virtualization/virtual-machines/', { operation: 'list virtual machines' }, names)
      .catch((caught: unknown) => caught)) as Error;

    // Assess
    expect(error).toMatchObject({ name: 'NotAuthorized', message: expect.stringContaining('is not accepted') });
    expect(error.message).toContain(`X-Request-ID ${simulator.requests[0]?.requestId ?? 'none'}`);
    expect(error.message).not.toContain('ffffffffffffffffffffffffffffffffffffffff');
  });

  test('429 and 5xx are transient and carry the X-Request-ID; 404 keeps its status', async () => {
    // Prepare
    simulator.failNext({ pathIncludes: 'replications' }, 503);

    // Act
    const transient = (await clientFor().list('plugins/proxbox/replications/', { operation: 'list replications' }, names).catch((caught: unknown) => caught)) as Error;
    const missing = await clientFor().list('plugins/proxbox/nothing-here/', { operation: 'list nothing' }, names).catch((caught: unknown) => caught);

    // Assess
    expect(transient).toMatchObject({ name: 'TransientApiError', status: 503, message: expect.stringContaining(`X-Request-ID ${simulator.requests[0]?.requestId ?? 'none'}`) });
    expect(missing).toMatchObject({ name: 'VendorApiError', status: 404 });
  });

  test('a redirect is never followed and says to check baseUrl', async () => {
    // Prepare: a client whose fetch strips the trailing slash, as a misconfigured proxy would
    const client = new NetboxRestClient({
      baseUrl: simulator.url,
      token: simulator.token,
      tokenLabel: 'the token',
      timeoutMs: 5000,
      fetch: (url, init) => fetch(new URL(url.href.replace(/\/\?/, '?')), { ...init, redirect: 'manual' }),
    });

    // Act
    const error = await client.list('virtualization/virtual-machines/', { operation: 'list virtual machines' }, names).catch((caught: unknown) => caught);

    // Assess
    expect(error).toMatchObject({ name: 'VendorApiError', status: 301, message: expect.stringContaining('check baseUrl') });
  });

  test('the likely permission is derived from the path', () => {
    // Act / Assess
    expect(likelyViewPermission('virtualization/virtual-machines/')).toBe('virtualization.view_virtualmachine');
    expect(likelyViewPermission('plugins/proxbox/replications/')).toBe('netbox_proxbox.view_replication');
  });
});
