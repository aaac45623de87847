/**
 * Real-world documents that must load unchanged: Istio's bookinfo samples and the examples from Istio's
 * reference pages, plus a Kubernetes Service with every ServiceSpec field and weft's own kinds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseResources } from './load.js';

const samples: Record<string, string> = {
  'bookinfo-gateway.yaml': `apiVersion: networking.istio.io/v1alpha3
kind: Gateway
metadata:
  name: bookinfo-gateway
spec:
  # The selector matches the ingress gateway pod labels.
  selector:
    istio: ingressgateway # use istio default controller
  servers:
  - port:
      number: 80
      name: http
      protocol: HTTP
    hosts:
    - "*"
---
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata:
  name: bookinfo
spec:
  hosts:
  - "*"
  gateways:
  - bookinfo-gateway
  http:
  - match:
    - uri:
        exact: /productpage
    - uri:
        prefix: /static
    - uri:
        exact: /login
    - uri:
        exact: /logout
    - uri:
        prefix: /api/v1/products
    route:
    - destination:
        host: productpage
        port:
          number: 9080
`,
  'destination-rule-all-mtls.yaml': `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews
spec:
  host: reviews
  trafficPolicy:
    tls:
      mode: ISTIO_MUTUAL
  subsets:
  - name: v1
    labels:
      version: v1
  - name: v2
    labels:
      version: v2
  - name: v3
    labels:
      version: v3
`,
  'virtual-service-reviews-jason-v2-v3.yaml': `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts:
  - reviews
  http:
  - match:
    - headers:
        end-user:
          exact: jason
    route:
    - destination:
        host: reviews
        subset: v2
  - route:
    - destination:
        host: reviews
        subset: v3
`,
  'virtual-service-ratings-test-delay.yaml': `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata:
  name: ratings
spec:
  hosts:
  - ratings
  http:
  - match:
    - headers:
        end-user:
          exact: jason
    fault:
      delay:
        percent: 100
        fixedDelay: 7s
    route:
    - destination:
        host: ratings
        subset: v1
  - route:
    - destination:
        host: ratings
        subset: v1
`,
  'virtual-service-reviews-80-20.yaml': `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts:
    - reviews
  http:
  - route:
    - destination:
        host: reviews
        subset: v1
      weight: 80
    - destination:
        host: reviews
        subset: v2
      weight: 20
`,
  'virtual-service-reference.yaml': `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: ratings-route
spec:
  hosts:
  - ratings.prod.svc.cluster.local
  - login.bookinfo.com
  http:
  - name: "reviews-v2-routes"
    match:
    - uri:
        prefix: "/wpcatalog"
      ignoreUriCase: true
      queryParams:
        ref:
          exact: jason
      withoutHeaders:
        x-debug:
          exact: "1"
      sourceLabels:
        app: reviews
      sourceNamespace: prod
      port: 9080
    rewrite:
      uri: "/newcatalog"
      authority: "ratings.prod"
    route:
    - destination:
        host: ratings.prod.svc.cluster.local
        subset: v1
      headers:
        request:
          set:
            test: "true"
        response:
          remove:
          - foo
    timeout: 10s
    retries:
      attempts: 3
      perTryTimeout: 2s
      retryOn: gateway-error,connect-failure,refused-stream
      retryRemoteLocalities: true
    mirror:
      host: httpbin
      subset: v2
    mirrorPercentage:
      value: 100.0
    corsPolicy:
      allowOrigins:
      - exact: https://example.com
      allowMethods:
      - POST
      - GET
      allowCredentials: false
      allowHeaders:
      - X-Foo-Bar
      maxAge: "24h"
    headers:
      request:
        add:
          x-b3: "1"
  - match:
    - uri:
        regex: "^/v[0-9]+/ratings$"
    rewrite:
      uriRegexRewrite:
        match: ^/service/([^/]+)(/.*)$
        rewrite: \\2/instance/\\1
    route:
    - destination:
        host: ratings.prod.svc.cluster.local
    fault:
      abort:
        percentage:
          value: 0.1
        httpStatus: 400
  - match:
    - uri:
        exact: /v1/getProductRatings
    redirect:
      uri: /v1/bookRatings
      authority: newratings.default.svc.cluster.local
      redirectCode: 301
  - match:
    - uri:
        prefix: /old
    directResponse:
      status: 503
      body:
        string: "unknown path"
  - match:
    - uri:
        prefix: "/productpage"
    delegate:
       name: productpage
       namespace: nsA
  - route:
    - destination:
        host: httpbin
    mirrors:
    - destination:
        host: httpbin-v2
      percentage:
        value: 50
  tcp:
  - match:
    - port: 27017
      sourceSubnet: 10.0.0.0/8
    route:
    - destination:
        host: mongo.backup.svc.cluster.local
        port:
          number: 5555
  tls:
  - match:
    - port: 443
      sniHosts:
      - login.bookinfo.com
    route:
    - destination:
        host: login.prod.svc.cluster.local
  exportTo:
  - "."
`,
  'destination-rule-reference.yaml': `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: bookinfo-ratings
spec:
  host: ratings.prod.svc.cluster.local
  exportTo: ["."]
  workloadSelector:
    matchLabels:
      app: ratings
  trafficPolicy:
    loadBalancer:
      simple: LEAST_REQUEST
      localityLbSetting:
        enabled: true
        distribute:
        - from: us-west/zone1/*
          to:
            "us-west/zone1/*": 80
            "us-west/zone2/*": 20
      warmup:
        duration: 60s
        minimumPercent: 10
        aggression: 1.0
    connectionPool:
      tcp:
        maxConnections: 100
        connectTimeout: 30ms
        tcpKeepalive:
          time: 7200s
          interval: 75s
      http:
        http2MaxRequests: 1000
        maxRequestsPerConnection: 10
        http1MaxPendingRequests: 1024
        h2UpgradePolicy: UPGRADE
        idleTimeout: 1h30m
    outlierDetection:
      consecutive5xxErrors: 7
      consecutiveGatewayErrors: 3
      interval: 5m
      baseEjectionTime: 15m
      maxEjectionPercent: 100
    tls:
      mode: MUTUAL
      clientCertificate: /etc/certs/myclientcert.pem
      privateKey: /etc/certs/client_private_key.pem
      caCertificates: /etc/certs/rootcacerts.pem
      sni: my-nginx.mesh-external.svc.cluster.local
      subjectAltNames:
      - my-nginx.mesh-external.svc.cluster.local
    portLevelSettings:
    - port:
        number: 80
      loadBalancer:
        consistentHash:
          httpCookie:
            name: user
            ttl: 0s
          ringHash:
            minimumRingSize: 1024
    tunnel:
      protocol: CONNECT
      targetHost: 192.168.1.2
      targetPort: 443
  subsets:
  - name: testversion
    labels:
      version: v3
    trafficPolicy:
      proxyProtocol:
        version: V2
      loadBalancer:
        consistentHash:
          httpHeaderName: x-user
          maglev:
            tableSize: "65537"
`,
  'service-entry-reference.yaml': `apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata:
  name: external-svc-https
spec:
  hosts:
  - api.dropboxapi.com
  - www.googleapis.com
  location: MESH_EXTERNAL
  ports:
  - number: 443
    name: https
    protocol: TLS
  resolution: DNS
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: external-svc-mongocluster
spec:
  hosts:
  - mymongodb.somedomain # not used
  addresses:
  - 192.192.192.192/24 # VIPs
  ports:
  - number: 27018
    name: mongodb
    protocol: MONGO
    targetPort: 27017
  location: MESH_INTERNAL
  resolution: STATIC
  subjectAltNames:
  - spiffe://cluster.local/ns/default/sa/mongo
  endpoints:
  - address: 2.2.2.2
  - address: 3.3.3.3
    ports:
      mongodb: 27019
    labels:
      app: mongo
    locality: us-east/zone1
    weight: 10
    network: net1
    serviceAccount: mongo
  exportTo:
  - "."
`,
  'sidecar-reference.yaml': `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata:
  name: ratings
  namespace: prod-us1
spec:
  workloadSelector:
    labels:
      app: ratings
  ingress:
  - port:
      number: 9080
      protocol: HTTP
      name: somename
    defaultEndpoint: unix:///var/run/someuds.sock
    captureMode: NONE
    connectionPool:
      http:
        http1MaxPendingRequests: 1024
  egress:
  - port:
      number: 9080
      protocol: HTTP
      name: egresshttp
    hosts:
    - "prod-us1/*"
  - hosts:
    - "istio-system/*"
    bind: 127.0.0.1
    captureMode: IPTABLES
  outboundTrafficPolicy:
    mode: REGISTRY_ONLY
  inboundConnectionPool:
    tcp:
      maxConnections: 100
`,
  'gateway-tls-reference.yaml': `apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: my-gateway
  namespace: some-config-namespace
spec:
  selector:
    app: my-gateway-controller
  servers:
  - port:
      number: 80
      name: http
      protocol: HTTP
    hosts:
    - uk.bookinfo.com
    - eu.bookinfo.com
    tls:
      httpsRedirect: true # sends 301 redirect for http requests
  - port:
      number: 443
      name: https-443
      protocol: HTTPS
    hosts:
    - uk.bookinfo.com
    - eu.bookinfo.com
    tls:
      mode: SIMPLE # enables HTTPS on this port
      serverCertificate: /etc/certs/servercert.pem
      privateKey: /etc/certs/privatekey.pem
  - port:
      number: 9443
      name: https-9443
      protocol: HTTPS
    hosts:
    - "bookinfo-namespace/*.bookinfo.com"
    tls:
      mode: SIMPLE # enables HTTPS on this port
      credentialName: bookinfo-secret # fetches certs from Kubernetes secret
      minProtocolVersion: TLSV1_2
      cipherSuites: [ECDHE-ECDSA-AES256-GCM-SHA384]
  - port:
      number: 2379 # to expose internal service via external port 2379
      name: mongo
      protocol: MONGO
    hosts:
    - "*"
`,
  'peer-authentication-samples.yaml': `apiVersion: security.istio.io/v1beta1
kind: PeerAuthentication
metadata:
  name: default
  namespace: istio-system
spec:
  mtls:
    mode: STRICT
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: finance
  namespace: foo
spec:
  selector:
    matchLabels:
      app: finance
  mtls:
    mode: STRICT
  portLevelMtls:
    8080:
      mode: DISABLE
`,
  'service-full.yaml': `apiVersion: v1
kind: Service
metadata:
  name: my-service
  namespace: prod
  labels: { app.kubernetes.io/name: my-service }
  annotations: { service.beta.kubernetes.io/aws-load-balancer-type: nlb }
  uid: 5c1b6b5a-0000-0000-0000-000000000000
  resourceVersion: "12345"
  creationTimestamp: "2024-01-01T00:00:00Z"
spec:
  type: LoadBalancer
  selector: { app: my-app }
  ports:
  - name: http
    protocol: TCP
    appProtocol: http
    port: 80
    targetPort: http-web
    nodePort: 30080
  - name: metrics
    port: 9090
    targetPort: 9090
  clusterIP: 10.0.171.239
  clusterIPs: [10.0.171.239]
  ipFamilies: [IPv4]
  ipFamilyPolicy: SingleStack
  sessionAffinity: ClientIP
  sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } }
  externalTrafficPolicy: Local
  internalTrafficPolicy: Cluster
  healthCheckNodePort: 32000
  publishNotReadyAddresses: false
  loadBalancerIP: 192.0.2.127
  loadBalancerSourceRanges: [10.0.0.0/8]
  loadBalancerClass: example.com/lb
  allocateLoadBalancerNodePorts: true
  externalIPs: [198.51.100.32]
  trafficDistribution: PreferClose
status:
  loadBalancer: { ingress: [{ ip: 192.0.2.127 }] }
`,
  'workload.yaml': `apiVersion: weft.dev/v1alpha1
kind: Workload
metadata: { name: reviews-v2, namespace: default, labels: { app: reviews, version: v2 } }
spec:
  serviceAccount: reviews
  command: ["node", "dist/examples/bookinfo/reviews.js"]
  env: { STAR_COLOR: black }
  ports: [{ name: http, containerPort: 9080, protocol: TCP, appProtocol: http }]
  workingDir: /srv
`,
  'mesh-config.yaml': `apiVersion: weft.dev/v1alpha1
kind: MeshConfig
metadata: { name: mesh, namespace: weft-system }
spec:
  trustDomain: example.org
  certificateTTL: 1.5h
  outboundTrafficPolicy: { mode: ALLOW_ANY }
  pathNormalization: { normalization: MERGE_SLASHES }
  extensionProviders:
  - name: sample-ext-authz-http
    envoyExtAuthzHttp:
      service: ext-authz.foo.svc.cluster.local
      port: 8000
      timeout: 250ms
      pathPrefix: /check
      failOpen: false
      statusOnError: "503"
      includeRequestHeadersInCheck: ["x-ext-authz"]
      includeAdditionalHeadersInCheck: { x-origin: mesh }
      headersToUpstreamOnAllow: ["x-ext-authz-check-result"]
      headersToDownstreamOnDeny: ["x-ext-authz-check-result"]
      headersToDownstreamOnAllow: ["set-cookie"]
      includeRequestBodyInCheck: { maxRequestBytes: 4096, allowPartialMessage: true }
`,
};

const expectedKinds: Record<string, string[]> = {
  'bookinfo-gateway.yaml': ['Gateway', 'VirtualService'],
  'destination-rule-all-mtls.yaml': ['DestinationRule'],
  'virtual-service-reviews-jason-v2-v3.yaml': ['VirtualService'],
  'virtual-service-ratings-test-delay.yaml': ['VirtualService'],
  'virtual-service-reviews-80-20.yaml': ['VirtualService'],
  'virtual-service-reference.yaml': ['VirtualService'],
  'destination-rule-reference.yaml': ['DestinationRule'],
  'service-entry-reference.yaml': ['ServiceEntry', 'ServiceEntry'],
  'sidecar-reference.yaml': ['Sidecar'],
  'gateway-tls-reference.yaml': ['Gateway'],
  'peer-authentication-samples.yaml': ['PeerAuthentication', 'PeerAuthentication'],
  'service-full.yaml': ['Service'],
  'workload.yaml': ['Workload'],
  'mesh-config.yaml': ['MeshConfig'],
};

for (const [file, text] of Object.entries(samples)) {
  test(`loads ${file}`, () => {
    const loaded = parseResources(text, file);
    assert.deepEqual(loaded.map((l) => l.resource.kind), expectedKinds[file]);
    for (const { resource } of loaded) {
      // Older Istio apiVersions are normalised to v1.
      assert.doesNotMatch(resource.apiVersion, /v1alpha3|v1beta1/);
      assert.equal(typeof resource.metadata.namespace, 'string');
      assert.ok(resource.metadata.namespace.length > 0);
    }
  });
}
