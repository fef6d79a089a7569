package io.kmsgw.app;

import io.kmsgw.api.http.RequestAudit;
import io.kmsgw.api.xks.XksAudit;
import io.kmsgw.audit.AuditEvent;
import io.kmsgw.audit.AuditLog;
import io.kmsgw.audit.UnauthenticatedRefusals;
import io.kmsgw.domain.ServiceEvents;
import io.vertx.core.json.JsonObject;
import java.time.Clock;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.logging.Logger;

/** Turns KMS API calls and the gateway's own actions into CloudTrail-format events in the audit log. */
final class AuditRecorder implements RequestAudit, ServiceEvents, XksAudit {
  private static final Logger LOG = Logger.getLogger(AuditRecorder.class.getName());
  private static final int MAX_USER_AGENT = 1024;

  private final AuditLog log;
  private final Clock clock;
  private final String region;
  private final String account;
  private final UnauthenticatedRefusals refusals;

  AuditRecorder(AuditLog log, Clock clock, String region, String account) {
    this.log = log;
    this.clock = clock;
    this.region = region;
    this.account = account;
    this.refusals = new UnauthenticatedRefusals(log, clock, region, account, true);
  }

  /**
   * A request refused before anyone was authenticated (no caller) is recorded individually only as its source's
   * first this minute; the rest are counted into a summary ({@link UnauthenticatedRefusals}).
   */
  @Override
  public CompletionStage<Void> record(Call c) {
    if (c.caller() == null && c.error() != null) {
      return refusals.record(c.sourceIp(), () -> event(c));
    }
    return log.append(event(c));
  }

  private AuditEvent.Builder event(Call c) {
    AuditEvent.Builder b = AuditEvent.apiCall(c.operation())
        .source(c.eventSource())
        .time(clock.instant())
        .caller(c.caller())
        .region(region)
        .sourceIp(c.sourceIp())
        .userAgent(c.userAgent() == null ? null
            : c.userAgent().length() > MAX_USER_AGENT ? c.userAgent().substring(0, MAX_USER_AGENT) : c.userAgent())
        .requestId(c.requestId())
        // the key's account receives the event, as in CloudTrail (a cross-account caller's own trail is not here)
        .recipientAccountId(account);
    if (c.request() != null) {
      b.requestParameters(new JsonObject(c.request()));
    }
    if (c.response() != null) {
      b.responseElements(new JsonObject(c.response()));
    }
    if (c.error() != null) {
      b.error(c.error().code().awsName(), c.error().getMessage());
    }
    if (c.keyArn() != null) {
      b.key(c.keyArn());
    }
    return b;
  }

  /** An XKS key operation: the endpoint's credential as the caller, the gateway key (if any) as the resource. */
  @Override
  public CompletionStage<Void> record(XksAudit.XksCall c) {
    AuditEvent.Builder b = AuditEvent.apiCall(c.operation())
        .source(AuditEvent.XKS_SOURCE)
        .time(clock.instant())
        .caller(c.caller())
        .region(region)
        .sourceIp(c.sourceIp())
        .userAgent(c.userAgent())
        .requestId(c.requestId())
        .recipientAccountId(account);
    if (c.request() != null) {
      b.requestParameters(new JsonObject(c.request()));
    }
    if (c.errorName() != null) {
      b.error(c.errorName(), c.errorMessage());
    }
    if (c.keyArn() != null) {
      b.key(c.keyArn());
    }
    return log.append(b);
  }

  @Override
  public void record(String eventName, String keyArn, Map<String, Object> details) {
    AuditEvent.Builder b = AuditEvent.serviceEvent(eventName).time(clock.instant()).region(region)
        .recipientAccountId(account);
    if (keyArn != null) {
      b.key(keyArn);
    }
    details.forEach(b::serviceEventDetail);
    log.append(b).whenComplete((ok, e) -> {
      if (e != null) {
        LOG.warning(() -> "audit: could not record " + eventName + ": " + e.getMessage());
      }
    });
  }
}
