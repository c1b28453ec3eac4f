{{/*
The alerting rules (metrics.prometheusRule): the `groups` of a PrometheusRule, also what
test/unit/helm/rules.test.ts hands to `promtool check rules` and `promtool test rules`. Each alert
links to its section of docs/runbook.md (anchor: the alert name in lower case).
*/}}
{{- define "gatehouse.alertRules" -}}
{{- $fullname := include "gatehouse.fullname" . -}}
{{- $r := .Values.metrics.prometheusRule -}}
{{- $sel := $r.jobSelector | default (printf "job=~\"%s|%s/%s\"" $fullname .Release.Namespace $fullname) -}}
{{- $url := $r.runbookBaseURL -}}
{{- $latency := mulf (float64 .Values.webhook.timeoutSeconds) (float64 $r.latencyShareOfTimeout) -}}
groups:
  - name: gatehouse
    rules:
      - alert: GatehouseWebhookDown
        # No replica answers: Gatehouse's kinds and namespace label changes are refused
        # (failurePolicy Fail), and the API server falls back to RBAC for authorization.
        expr: absent(up{ {{- $sel -}} } == 1)
        for: {{ $r.webhookDownFor }}
        labels: {severity: critical}
        annotations:
          summary: No Gatehouse replica answers its webhooks.
          description: Writes to Users, Roles, Teams and RoleBindings fail closed and authorization falls back to RBAC.
          runbook_url: {{ $url }}#gatehousewebhookdown
      - alert: GatehouseWebhookLatencyHigh
        expr: histogram_quantile(0.99, sum by (le, webhook) (rate(gatehouse_webhook_duration_seconds_bucket{ {{- $sel -}} }[5m]))) > {{ $latency }}
        for: 10m
        labels: {severity: warning}
        annotations:
          summary: 'Gatehouse {{ "{{" }} $labels.webhook {{ "}}" }} p99 latency is near the webhook timeout ({{ .Values.webhook.timeoutSeconds }} s).'
          runbook_url: {{ $url }}#gatehousewebhooklatencyhigh
      - alert: GatehouseAuthorizationErrors
        expr: (sum(rate(gatehouse_authorization_decisions_total{ {{- $sel -}} ,verdict="error"}[5m])) / sum(rate(gatehouse_authorization_decisions_total{ {{- $sel -}} }[5m]))) > {{ $r.errorRatio }}
        for: 10m
        labels: {severity: warning}
        annotations:
          summary: More than {{ mulf (float64 $r.errorRatio) 100.0 }}% of authorization reviews end in an error.
          runbook_url: {{ $url }}#gatehouseauthorizationerrors
      - alert: GatehouseAdmissionErrors
        expr: (sum(rate(gatehouse_admission_reviews_total{ {{- $sel -}} ,result=~"error|invalid"}[5m])) / sum(rate(gatehouse_admission_reviews_total{ {{- $sel -}} }[5m]))) > {{ $r.errorRatio }}
        for: 10m
        labels: {severity: warning}
        annotations:
          summary: More than {{ mulf (float64 $r.errorRatio) 100.0 }}% of admission reviews fail closed or are malformed.
          runbook_url: {{ $url }}#gatehouseadmissionerrors
      - alert: GatehouseHTTPServerErrors
        expr: (sum(rate(gatehouse_http_responses_total{ {{- $sel -}} ,status=~"5.."}[5m])) / sum(rate(gatehouse_http_responses_total{ {{- $sel -}} }[5m]))) > {{ $r.errorRatio }}
        for: 10m
        labels: {severity: warning}
        annotations:
          summary: Gatehouse answers more than {{ mulf (float64 $r.errorRatio) 100.0 }}% of HTTP requests with a 5xx.
          runbook_url: {{ $url }}#gatehousehttpservererrors
      {{- if ne .Values.authorization.mode "rbac" }}
      - alert: GatehouseNoAuthorizationDecisions
        # In webhook mode the API server asks for every request it authorizes: silence means it
        # does not call Gatehouse (kubeconfig not wired, CA not trusted) and RBAC alone decides.
        expr: (sum(rate(gatehouse_authorization_decisions_total{ {{- $sel -}} }[{{ $r.noDecisionsWindow }}])) or vector(0)) == 0 and on() (sum(up{ {{- $sel -}} }) > 0)
        for: 5m
        labels: {severity: critical}
        annotations:
          summary: Gatehouse made no authorization decision in {{ $r.noDecisionsWindow }} while running.
          description: The API server is not calling the authorization webhook; Gatehouse's grants and denials are not applied.
          runbook_url: {{ $url }}#gatehousenoauthorizationdecisions
      {{- end }}
      - alert: GatehouseIndexNotSynced
        # Generation 0: the first list never finished. A stale kind: no list, event, bookmark or
        # clean watch end for that long, so answers may be old.
        expr: max by (instance) (gatehouse_index_generation{ {{- $sel -}} }) == 0 or (time() - min by (instance, kind) (gatehouse_last_sync_timestamp_seconds{ {{- $sel -}} })) > {{ $r.staleSyncSeconds }}
        for: 10m
        labels: {severity: critical}
        annotations:
          summary: 'Gatehouse replica {{ "{{" }} $labels.instance {{ "}}" }} has no current permission index.'
          runbook_url: {{ $url }}#gatehouseindexnotsynced
      - alert: GatehouseWatchRestarts
        expr: sum by (instance) (increase(gatehouse_watch_restarts_total{ {{- $sel -}} }[15m])) > {{ $r.watchRestartsPer15m }}
        for: 15m
        labels: {severity: warning}
        annotations:
          summary: 'Gatehouse replica {{ "{{" }} $labels.instance {{ "}}" }} keeps restarting its watches.'
          runbook_url: {{ $url }}#gatehousewatchrestarts
      - alert: GatehouseCertificateExpiring
        expr: (min by (instance) (gatehouse_serving_certificate_expiry_timestamp_seconds{ {{- $sel -}} }) - time()) < {{ mul (int $r.certificateExpiryDays) 86400 }}
        for: 15m
        labels: {severity: warning}
        annotations:
          summary: 'The serving certificate of {{ "{{" }} $labels.instance {{ "}}" }} ends in less than {{ $r.certificateExpiryDays }} days and was not renewed.'
          runbook_url: {{ $url }}#gatehousecertificateexpiring
      - alert: GatehouseNoLeader
        # Without a leader: no status, no Events, no expiry of bindings in RBAC mode, no certificate renewal.
        expr: (sum(gatehouse_leader{ {{- $sel -}} }) or vector(0)) == 0 and on() (sum(up{ {{- $sel -}} }) > 0)
        for: 5m
        labels: {severity: warning}
        annotations:
          summary: No Gatehouse replica holds the leader Lease.
          runbook_url: {{ $url }}#gatehousenoleader
{{- end -}}
