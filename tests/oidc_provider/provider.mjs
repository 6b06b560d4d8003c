// A certified OpenID provider (node's oidc-provider 9) on loopback, for the crate's tests
// (tests/oidc_provider.rs). start_provider.sh runs it; nothing here is for production.
//
// Its signing keys are made fresh at every start, so a restart is a key rotation. Clients:
//   svc      (secret svc-secret)      client credentials, for tokens of every resource below
//   micros1  (secret micros1-secret)  the resource server: introspects and revokes tokens
// Resources (the `resource` parameter of the token request, RFC 8707):
//   urn:micros1:rs256 | :es256 | :eddsa   RFC 9068 JWT access tokens for audience `micros1`
//   urn:micros1:opaque                    opaque tokens for `micros1` (introspection)
//   urn:billing                           RFC 9068 JWT access tokens for another audience
//   urn:micros1:keycloak | :keycloak-id   JWT access tokens for `micros1` in Keycloak's claim
//                                         layout (realm_access, resource_access,
//                                         preferred_username, payload `typ` `Bearer`); the
//                                         second labels its tokens as Keycloak's ID tokens (`ID`)
// DPoP (RFC 9449) is on, as oidc-provider 9 has it by default: a token request with a `DPoP`
// proof (ES256, Ed25519/EdDSA) gets a DPoP-bound token (`token_type` DPoP, `cnf.jkt`).
// The published key set also holds a P-521 key (ES512) and an encryption key, which a
// resource server that verifies RS256, ES256 and EdDSA cannot use.
//
// Environment: OIDC_PORT (required), OIDC_PATH (default empty: the issuer's path, such as
// Keycloak's /realms/acme; the provider is mounted there).

import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';

import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

const port = Number(process.env.OIDC_PORT);
if (!port) {
  console.error('OIDC_PORT is required');
  process.exit(2);
}
const path = process.env.OIDC_PATH || '';
const issuer = `http://127.0.0.1:${port}${path}`;

async function privateJwk(alg, options = {}) {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...options });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: `${alg.toLowerCase()}-${randomUUID().slice(0, 8)}`, alg, use: 'sig' };
}

const keys = [
  await privateJwk('RS256'),
  await privateJwk('ES256'),
  await privateJwk('Ed25519'),
  await privateJwk('ES512'),
  { ...(await privateJwk('RSA-OAEP')), use: 'enc' },
];

const resources = {
  'urn:micros1:rs256': { audience: 'micros1', format: 'jwt', alg: 'RS256' },
  'urn:micros1:es256': { audience: 'micros1', format: 'jwt', alg: 'ES256' },
  'urn:micros1:eddsa': { audience: 'micros1', format: 'jwt', alg: 'Ed25519' },
  'urn:micros1:opaque': { audience: 'micros1', format: 'opaque' },
  'urn:billing': { audience: 'billing', format: 'jwt', alg: 'RS256' },
  'urn:micros1:keycloak': { audience: 'micros1', format: 'jwt', alg: 'RS256', keycloak: 'Bearer' },
  'urn:micros1:keycloak-id': { audience: 'micros1', format: 'jwt', alg: 'RS256', keycloak: 'ID' },
};

// The claims Keycloak puts in a service account's token
// (https://www.keycloak.org/docs/latest/server_admin/#_oidc_token_role_mappings).
function keycloakClaims(typ, clientId) {
  return {
    typ,
    azp: clientId,
    preferred_username: `service-account-${clientId}`,
    realm_access: { roles: ['role1', 'offline_access', 'uma_authorization'] },
    resource_access: {
      micros1: { roles: ['editor'] },
      account: { roles: ['manage-account', 'view-profile'] },
    },
  };
}

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'svc',
      client_secret: 'svc-secret',
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      scope: 'role1 role2',
    },
    {
      client_id: 'micros1',
      client_secret: 'micros1-secret',
      grant_types: [],
      redirect_uris: [],
      response_types: [],
    },
  ],
  jwks: { keys },
  scopes: ['role1', 'role2'],
  extraTokenClaims: async (_ctx, token) => {
    const typ = resources[token.resourceServer?.identifier()]?.keycloak;
    return typ ? keycloakClaims(typ, token.clientId) : undefined;
  },
  enabledJWA: {
    idTokenSigningAlgValues: ['RS256', 'ES256', 'Ed25519', 'ES512'],
    idTokenEncryptionAlgValues: ['RSA-OAEP'],
  },
  features: {
    devInteractions: { enabled: false },
    encryption: { enabled: true },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => 'urn:micros1:rs256',
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, resource) => {
        const found = resources[resource];
        if (!found) {
          throw new Provider.errors.InvalidTarget();
        }
        const info = {
          scope: 'role1 role2',
          audience: found.audience,
          accessTokenTTL: 600,
          accessTokenFormat: found.format,
        };
        if (found.format === 'jwt') {
          info.jwt = { sign: { alg: found.alg } };
        }
        return info;
      },
    },
  },
});
provider.proxy = false;

// Mounted at the issuer's path, as Express mounts it: the provider reads its mount path from
// `originalUrl`.
const callback = provider.callback();
const server = createServer((req, res) => {
  if (!req.url.startsWith(path)) {
    res.statusCode = 404;
    res.end();
    return;
  }
  req.originalUrl = req.url;
  req.url = req.url.slice(path.length) || '/';
  callback(req, res);
});
server.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider ${issuer} listening on 127.0.0.1:${port}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
