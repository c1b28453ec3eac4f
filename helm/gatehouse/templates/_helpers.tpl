{{/* Names and labels shared by every template. */}}

{{- define "gatehouse.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "gatehouse.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "gatehouse.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "gatehouse.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gatehouse.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "gatehouse.labels" -}}
helm.sh/chart: {{ include "gatehouse.chart" . }}
{{ include "gatehouse.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: gatehouse
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "gatehouse.serviceAccountName" -}}
{{- default (include "gatehouse.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{- define "gatehouse.serviceAccountUsername" -}}
{{- printf "system:serviceaccount:%s:%s" .Release.Namespace (include "gatehouse.serviceAccountName" .) -}}
{{- end -}}

{{- define "gatehouse.leaseName" -}}
{{- printf "%s-leader" (include "gatehouse.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "gatehouse.tlsSecretName" -}}
{{- if eq .Values.certs.mode "provided" -}}
{{- .Values.certs.provided.secretName -}}
{{- else -}}
{{- printf "%s-tls" (include "gatehouse.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* The CA-only ConfigMap: what Prometheus and the API server's kubeconfig trust. */}}
{{- define "gatehouse.caConfigMapName" -}}
{{- printf "%s-ca" (include "gatehouse.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "gatehouse.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The DNS names the API server uses for the webhook Service. */}}
{{- define "gatehouse.dnsNames" -}}
{{- $svc := include "gatehouse.fullname" . -}}
{{- $ns := .Release.Namespace -}}
{{- $names := list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.cluster.local" $svc $ns) -}}
{{- if and .Values.credentials.enabled .Values.credentials.proxy.enabled -}}
{{- $p := printf "%s-proxy" $svc -}}
{{- $names = concat $names (list $p (printf "%s.%s" $p $ns) (printf "%s.%s.svc" $p $ns) (printf "%s.%s.svc.cluster.local" $p $ns)) -}}
{{- end -}}
{{- concat $names .Values.certs.extraDnsNames | uniq | toJson -}}
{{- end -}}

{{- define "gatehouse.ipAddresses" -}}
{{- $ips := .Values.certs.extraIpAddresses -}}
{{- if .Values.service.clusterIP -}}
{{- $ips = append $ips .Values.service.clusterIP -}}
{{- end -}}
{{- $ips | uniq | toJson -}}
{{- end -}}

{{/*
The operator's configuration file: the product keys verbatim from values (same shapes as
src/config.ts), plus what only the chart knows (port, certificate paths, namespace, lease name).
POD_NAME from the downward API sets operator.identity at start.
*/}}
{{/*
"true" when the chart makes the API server's client certificate for /authorize and /authenticate
(webhook.clientCertificates.apiServerWebhooks, the default): it needs the chart's own CA key
(certs.mode self-signed) and a route the API server calls (the authorization or the token webhook).
*/}}
{{- define "gatehouse.apiServerClientCert" -}}
{{- $v := .Values -}}
{{- and $v.webhook.clientCertificates.apiServerWebhooks (not $v.webhook.clientCertificates.enabled) (or (eq $v.certs.mode "self-signed") (eq $v.certs.mode "operator")) (or (ne $v.authorization.mode "rbac") $v.credentials.enabled) -}}
{{- end -}}

{{/* The API server's user in the webhook kubeconfigs: the client pair on the node, or none. */}}
{{- define "gatehouse.apiServerUser" -}}
{{- if .presentsCert -}}
# The operator answers /authorize and /authenticate only to a caller with a certificate signed by
# its CA (webhook.clientCertificates); the API server presents this pair (files on the node).
user:
  client-certificate: {{ .Values.webhook.clientCertificates.apiServerCertFile }}
  client-key: {{ .Values.webhook.clientCertificates.apiServerKeyFile }}
{{- else -}}
user: {}
{{- end -}}
{{- end -}}

{{- define "gatehouse.config" -}}
{{- $v := .Values -}}
{{- $le := merge (dict "leaseName" (include "gatehouse.leaseName" .)) $v.operator.leaderElection -}}
{{- $operator := dict
  "namespace" .Release.Namespace
  "serviceAccountUsername" (include "gatehouse.serviceAccountUsername" .)
  "identity" (include "gatehouse.fullname" .)
  "leaderElection" $le
  "watch" $v.operator.watch
  "autoRegistrationPerSecond" $v.operator.autoRegistrationPerSecond -}}
{{- $server := merge (dict
  "host" "0.0.0.0"
  "port" (int $v.service.targetPort)
  "certFile" "/etc/gatehouse/tls/tls.crt"
  "keyFile" "/etc/gatehouse/tls/tls.key") $v.server -}}
{{- if $v.webhook.clientCertificates.enabled -}}
{{- $_ := set $server "clientCAFile" "/etc/gatehouse/client-ca/ca.crt" -}}
{{- else if eq (include "gatehouse.apiServerClientCert" .) "true" -}}
{{- /* The chart's own CA signed the API server's client pair; only the kubeconfig-reached routes ask for it. */ -}}
{{- $_ := set $server "clientCAFile" (ternary "/etc/gatehouse/ca/ca.crt" "/etc/gatehouse/tls/ca.crt" (eq $v.certs.mode "operator")) -}}
{{- $_ := set $server "clientCertificateRoutes" (list "authorize" "authenticate") -}}
{{- end -}}
{{- $proxy := dict "enabled" $v.credentials.proxy.enabled "host" "0.0.0.0" "port" 8444 -}}
{{- with $v.credentials.proxy.externalURL }}{{- $_ := set $proxy "externalURL" . -}}{{- end }}
{{- if eq $v.certs.mode "operator" }}{{- $_ := set $proxy "caFile" "/etc/gatehouse/ca/ca.crt" -}}
{{- else if ne $v.certs.mode "provided" }}{{- $_ := set $proxy "caFile" "/etc/gatehouse/tls/ca.crt" -}}{{- end }}
{{- $credentials := dict
  "enabled" $v.credentials.enabled
  "invitationTTLSeconds" $v.credentials.invitationTTLSeconds
  "proxy" $proxy
  "rateLimits" $v.credentials.rateLimits
  "audiences" ($v.credentials.audiences | default list) -}}
{{- $console := merge (dict "host" "0.0.0.0") $v.console -}}
{{- $cfg := dict
  "logLevel" $v.logLevel
  "credentials" $credentials
  "seedAdmins" $v.seedAdmins
  "defaults" $v.defaults
  "projects" $v.projects
  "teams" $v.teams
  "review" $v.review
  "requests" ($v.requests | default dict)
  "registration" $v.registration
  "authorization" $v.authorization
  "presets" $v.presets
  "cluster" ($v.cluster | default dict)
  "server" $server
  "console" $console
  "operator" $operator -}}
{{- if eq $v.certs.mode "operator" -}}
{{- $fullname := include "gatehouse.fullname" . -}}
{{- $s := include "gatehouse.certLifetimes" . | fromJson -}}
{{- $_ := set $cfg "certificates" (dict
  "mode" "operator"
  "secretName" (include "gatehouse.tlsSecretName" .)
  "caConfigMapName" (include "gatehouse.caConfigMapName" .)
  "commonName" ($fullname | trunc 64)
  "dnsNames" (include "gatehouse.dnsNames" . | fromJsonArray)
  "ipAddresses" (include "gatehouse.ipAddresses" . | fromJsonArray)
  "validatingWebhookConfigurations" (list $fullname)
  "mutatingWebhookConfigurations" (list $fullname)
  "apiServerClient" (eq (include "gatehouse.apiServerClientCert" .) "true")
  "caValiditySeconds" $s.caValidity
  "caRotateBeforeSeconds" $s.caRotateBefore
  "caOverlapSeconds" $s.caOverlap
  "certValiditySeconds" $s.certValidity
  "certRenewBeforeSeconds" $s.certRenewBefore) -}}
{{- if hasKey $v.certs.operator "pollSeconds" -}}
{{- $_ := set $cfg.certificates "pollSeconds" $v.certs.operator.pollSeconds -}}
{{- end -}}
{{- else -}}
{{- $_ := set $cfg "certificates" (dict "mode" "files") -}}
{{- end -}}
{{- toYaml $cfg -}}
{{- end -}}

{{/* Checks no JSON schema can express. */}}
{{- define "gatehouse.validate" -}}
{{- $le := .Values.operator.leaderElection -}}
{{- if ge (int $le.renewDeadlineSeconds) (int $le.leaseDurationSeconds) -}}
{{- fail (printf "operator.leaderElection.renewDeadlineSeconds (%v) must be less than leaseDurationSeconds (%v)" $le.renewDeadlineSeconds $le.leaseDurationSeconds) -}}
{{- end -}}
{{- if and (eq .Values.certs.mode "provided") (or (not .Values.certs.provided.secretName) (not .Values.certs.provided.caBundle)) -}}
{{- fail "certs.mode provided needs certs.provided.secretName (a kubernetes.io/tls Secret in the release namespace) and certs.provided.caBundle (the base64 PEM of the CA that signed it)" -}}
{{- end -}}
{{- if and .Values.webhook.clientCertificates.enabled (not .Values.webhook.clientCertificates.caBundle) -}}
{{- fail "webhook.clientCertificates.enabled needs webhook.clientCertificates.caBundle: the base64 PEM of the CA that signed the certificate the API server presents to webhooks (docs/security.md)" -}}
{{- end -}}
{{- $s := include "gatehouse.certLifetimes" . | fromJson -}}
{{- if and (eq .Values.certs.mode "operator") (or (ge (int64 $s.certRenewBefore) (int64 $s.certValidity)) (ge (int64 $s.caRotateBefore) (int64 $s.caValidity)) (ge (int64 $s.caOverlap) (int64 $s.caRotateBefore))) -}}
{{- fail "certs.operator: certRenewBeforeDays must be less than certValidityDays, caRotateBeforeDays less than caValidityDays, and caOverlapDays less than caRotateBeforeDays (or the *Seconds keys that override them)" -}}
{{- end -}}
{{- if and (or .Values.metrics.serviceMonitor.enabled .Values.metrics.podMonitor.enabled) (eq .Values.certs.mode "cert-manager") (not .Values.metrics.caConfigMap) -}}
{{- fail "metrics.serviceMonitor / podMonitor with certs.mode cert-manager need metrics.caConfigMap: a ConfigMap with the CA (key ca.crt) in the release namespace, e.g. from trust-manager" -}}
{{- end -}}
{{- if and (eq .Values.certs.mode "cert-manager") (not (.Capabilities.APIVersions.Has "cert-manager.io/v1")) -}}
{{- fail "certs.mode cert-manager needs cert-manager installed (the API cert-manager.io/v1 is not served by this cluster); install cert-manager first or use certs.mode self-signed" -}}
{{- end -}}
{{- end -}}

{{/* Pieces of the admission webhook configurations (webhooks.yaml). */}}
{{- define "gatehouse.webhookClientConfig" -}}
clientConfig:
  service:
    name: {{ .fullname }}
    namespace: {{ .ns }}
    path: {{ .path }}
    port: {{ .port }}
  {{- with .caBundle }}
  caBundle: {{ . }}
  {{- end }}
sideEffects: None
admissionReviewVersions: [v1, v1beta1]
timeoutSeconds: {{ .timeout }}
matchPolicy: Equivalent
{{- end -}}
{{- define "gatehouse.kindRules" -}}
rules:
  - apiGroups: [iam.gatehouse.dev]
    apiVersions: [v1alpha1]
    operations: {{ .operations }}
    resources: [users, roles, teams, rolebindings, accessrequests]
    scope: Cluster
{{- end -}}
{{- define "gatehouse.namespaceRules" -}}
rules:
  - apiGroups: [""]
    apiVersions: [v1]
    operations: {{ .operations }}
    resources: {{ .resources | default "[namespaces]" }}
    scope: Cluster
{{- /* For a Namespace the selector matches the namespace object's own labels. */}}
namespaceSelector:
  matchExpressions:
    - key: kubernetes.io/metadata.name
      operator: NotIn
      values: {{ .exclude | toJson }}
{{- end -}}

{{/*
certs.mode operator: the five lifetimes in seconds, as JSON. Each is its *Days value unless the
matching *Seconds key is set (short lifetimes for tests and trial clusters: the node test renews
and rotates within minutes this way).
*/}}
{{- define "gatehouse.certLifetimes" -}}
{{- $o := .Values.certs.operator -}}
{{- $out := dict -}}
{{- range $k := list "caValidity" "caRotateBefore" "caOverlap" "certValidity" "certRenewBefore" -}}
{{- $secs := printf "%sSeconds" $k -}}
{{- if hasKey $o $secs -}}
{{- $_ := set $out $k (int64 (get $o $secs)) -}}
{{- else -}}
{{- $_ := set $out $k (mul (int64 (get $o (printf "%sDays" $k))) 86400) -}}
{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}
