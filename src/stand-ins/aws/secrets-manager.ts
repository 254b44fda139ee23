/*
 * Secrets Manager in its wire protocol (AWS JSON 1.1, `X-Amz-Target: secretsmanager.*`, SigV4 scoped to its
 * region), for the secrets tests: GetSecretValue and DescribeSecret by name or ARN. Refuses as the service does
 * (source: botocore data/secretsmanager/2017-10-17/service-2.json, and AWS's common errors):
 * - a secret it does not hold: 400 ResourceNotFoundException (the model gives it no status, so the JSON
 *   protocol's 400);
 * - a request signed for another region: 403 InvalidSignatureException ("Credential should be scoped to a valid
 *   region");
 * - while `state.down`: 503 ServiceUnavailableException (a region that does not answer; flip it back and it
 *   answers again, which is how a test models "refuses, then answers").
 * A secret held here as a replica (this region in its `replicas`) answers DescribeSecret with its `primary` as
 * PrimaryRegion and no ReplicationStatus (assumption: the model documents ReplicationStatus as the primary's
 * list of replicas).
 * Not modelled: VersionId/VersionStage selection, binary secrets, KMS decryption failures, SecretId's 1-2048
 * length (ValidationException), permissions (any signed request is allowed).
 */
import { httpServer } from '../shared/loopback.js';

export const secretArn = (region: string, name: string) =>
  `arn:aws:secretsmanager:${region}:111122223333:secret:${name}-AbCdEf`;

export interface StandInSecret {
  value: string;
  /** Regions holding replicas of it. */
  replicas: string[];
  /** The primary region, for a stand-in playing a replica region. */
  primary?: string;
}

export async function secretsManagerStandIn(region: string, secrets: Record<string, StandInSecret>) {
  const state = { down: false, calls: 0 };
  const server = await httpServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += String(c)));
    req.on('end', () => {
      state.calls++;
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify(body));
      };
      if (state.down) return send(503, { __type: 'ServiceUnavailableException', message: 'unavailable' });
      const scope = /Credential=[^/]+\/\d{8}\/([^/]+)\/secretsmanager\//.exec(
        String(req.headers.authorization),
      );
      if (scope?.[1] !== region)
        return send(403, {
          __type: 'InvalidSignatureException',
          message: 'Credential should be scoped to a valid region.',
        });
      const id = (JSON.parse(raw) as { SecretId: string }).SecretId;
      const name = Object.keys(secrets).find((n) => n === id || secretArn(region, n) === id);
      if (!name)
        return send(400, {
          __type: 'ResourceNotFoundException',
          message: "Secrets Manager can't find the specified secret.",
        });
      const target = String(req.headers['x-amz-target']);
      if (target === 'secretsmanager.GetSecretValue')
        return send(200, {
          ARN: secretArn(region, name),
          Name: name,
          SecretString: secrets[name]!.value,
          VersionId: 'v1',
          VersionStages: ['AWSCURRENT'],
          CreatedDate: 1700000000,
        });
      if (target === 'secretsmanager.DescribeSecret') {
        const { replicas, primary } = secrets[name]!;
        const replica = replicas.includes(region);
        return send(200, {
          ARN: secretArn(region, name),
          Name: name,
          PrimaryRegion: replica ? primary : region,
          ...(replica ? {} : { ReplicationStatus: replicas.map((Region) => ({ Region, Status: 'InSync' })) }),
        });
      }
      send(400, { __type: 'UnknownOperationException', message: target });
    });
  });
  return { ...server, state };
}
