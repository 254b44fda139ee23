import { FakeServer } from '../shared/server.js';

/**
 * AWS STS's AssumeRole in its wire shape (the Query protocol: a form-encoded POST with `Action=AssumeRole`,
 * `Version=2011-06-15`, answered in XML), SigV4-signed for `sts` in its region. It hands out temporary
 * credentials for a role it knows, so a test can tell which identity signed what came after.
 *
 * Refusals it models, with their sources (botocore `sts/2011-06-15/service-2.json`, AssumeRole):
 * - an unsigned request: 403 `MissingAuthenticationToken`;
 * - a missing `RoleArn` or `RoleSessionName`, or a session name outside 2-64 characters of `[\w+=,.@-]`
 *   (the model's `roleSessionNameType`): 400 `ValidationError`;
 * - a role it does not know, or a caller the role does not trust: 403 `AccessDenied` ("User: … is not
 *   authorized to perform: sts:AssumeRole on resource: …", as STS writes it).
 * Not modelled: policies, tags, MFA, external IDs, source identity, DurationSeconds' limits, other actions.
 */
export class FakeSts extends FakeServer {
  readonly assumed: Array<{ roleArn: string; caller: string; sessionName: string }> = [];

  /** `roles`: role ARN → the access key ids it trusts, and the credentials it hands out. */
  constructor(
    readonly roles: Map<
      string,
      { trusts: string[]; issues: { accessKeyId: string; secretAccessKey: string; sessionToken: string } }
    >,
  ) {
    super(
      (req, body, res) => {
        const reply = (status: number, xml: string) => {
          res.writeHead(status, { 'content-type': 'text/xml' });
          res.end(`<?xml version="1.0" encoding="UTF-8"?>\n${xml}`);
        };
        const fail = (status: number, code: string, message: string) =>
          reply(
            status,
            `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>fake</RequestId></ErrorResponse>`,
          );
        const caller = /Credential=([^/]+)\/\d{8}\/[^/]+\/sts\//.exec(
          String(req.headers.authorization ?? ''),
        )?.[1];
        if (!caller)
          return fail(403, 'MissingAuthenticationToken', 'Request is missing Authentication Token');
        const form = new URLSearchParams(body);
        if (form.get('Action') !== 'AssumeRole')
          return fail(400, 'InvalidAction', `Could not find operation ${form.get('Action')}`);
        const roleArn = form.get('RoleArn') ?? '';
        const sessionName = form.get('RoleSessionName') ?? '';
        if (!roleArn || !/^[\w+=,.@-]{2,64}$/.test(sessionName))
          return fail(
            400,
            'ValidationError',
            `1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint`,
          );
        const role = this.roles.get(roleArn);
        if (!role || !role.trusts.includes(caller))
          return fail(
            403,
            'AccessDenied',
            `User: ${caller} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
          );
        this.assumed.push({ roleArn, caller, sessionName });
        const c = role.issues;
        reply(
          200,
          `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>${c.accessKeyId}</AccessKeyId><SecretAccessKey>${c.secretAccessKey}</SecretAccessKey><SessionToken>${c.sessionToken}</SessionToken><Expiration>${new Date(Date.now() + 3_600_000).toISOString()}</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROAFAKE:${sessionName}</AssumedRoleId><Arn>${roleArn.replace(':role/', ':assumed-role/')}/${sessionName}</Arn></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata></AssumeRoleResponse>`,
        );
      },
      { get: () => ({ assumed: this.assumed }), set: () => undefined },
    );
  }
}
