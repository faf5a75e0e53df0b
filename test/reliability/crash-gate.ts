/**
 * `node --import` gate of the crash harness's daemon processes: warms the caches of what `drover run`
 * loads for this fleet (the CLI, the EC2 provider, and the providers of the other clouds named in
 * CRASH_GATE_CLOUDS — for GCE also the Compute Engine client classes, whose first construction
 * parses their protos), then holds the process until one line arrives on stdin. drover's own code
 * runs only after that, so the harness can prepare the next process while the current one runs.
 * Nothing here talks to the network or touches drover's state.
 */
const clouds = new Set((process.env['CRASH_GATE_CLOUDS'] ?? '').split(','));
await Promise.all([
  import('../../src/cli/main.ts'),
  import('../../src/cli/run.ts'),
  import('../../src/desired/load.ts'),
  import('../../providers/aws/open.ts'),
  ...(clouds.has('azure') ? [import('../../providers/azure/open.ts')] : []),
  ...(clouds.has('proxmox') ? [import('../../providers/proxmox/open.ts')] : []),
]);
if (clouds.has('gcp')) {
  const [{ ImagesClient, InstancesClient, ZoneOperationsClient }, { PassThroughClient }] = await Promise.all([
    import('@google-cloud/compute'),
    import('google-auth-library'),
    import('../../providers/gcp/open.ts'),
  ]);
  const options = {
    apiEndpoint: '127.0.0.1',
    port: 9,
    protocol: 'http',
    authClient: new PassThroughClient(),
    fallback: true,
  } as ConstructorParameters<typeof InstancesClient>[0];
  const warm = [new InstancesClient(options), new ZoneOperationsClient(options), new ImagesClient(options)];
  await Promise.all(warm.map((c) => c.initialize()));
  await Promise.all(warm.map((c) => c.close()));
}
await new Promise<void>((resolve) => {
  process.stdin.once('data', () => resolve());
  process.stdin.once('end', () => resolve());
});
process.stdin.pause();
process.stdin.unref?.();
