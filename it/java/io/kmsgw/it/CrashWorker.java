package io.kmsgw.it;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.iam.IamClient;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.GrantOperation;

/**
 * One client of {@link CrashLoopIT}: sends a seeded random mix of state changes, one at a time, and keeps a journal of
 * every change the gateway acknowledged (a 2xx). Everything it creates is named {@code cl-t<n>-<seq>} (key
 * descriptions, alias names, grant names, user names), so after a restart it can tell its own objects from the other
 * workers' and match an object it never got an answer for to the one request that was in flight at the kill.
 */
final class CrashWorker {
  /** The request sent and not answered when the gateway died: it may have taken effect, or not, but not halfway. */
  record Pending(String op, String target, String marker) {}

  /** An IAM user: its acknowledged access keys and the marker in its last acknowledged inline policy. */
  static final class User {
    final Set<String> accessKeys = new HashSet<>();
    String policyMarker;
  }

  final String prefix;
  /** Enabled keys and their acknowledged rotation counts. */
  final Map<String, Integer> keys = new LinkedHashMap<>();
  /** Keys whose ScheduleKeyDeletion was acknowledged (destroyed at the next start, the clock having moved on). */
  final Set<String> scheduled = new HashSet<>();
  /** Alias name to target key id. */
  final Map<String, String> aliases = new LinkedHashMap<>();
  /** Grant id to key id. */
  final Map<String, String> grants = new LinkedHashMap<>();
  final Map<String, User> users = new LinkedHashMap<>();
  /** Requests refused with an AWS error (they must have changed nothing). */
  final List<String> refused = new ArrayList<>();
  int acknowledged;

  private final Random rng;
  private int seq;
  private volatile Pending pending;

  CrashWorker(int n, long seed) {
    this.prefix = "cl-t" + n + "-";
    this.rng = new Random(seed);
  }

  Pending pending() {
    return pending;
  }

  void clearPending() {
    pending = null;
  }

  /**
   * Sends requests until one fails to reach the gateway (it was killed); returns then. The clients live across
   * restarts (same port); a read-only request first, retried, clears connections kept alive to the killed process.
   */
  void run(KmsClient kms, IamClient iam) {
    for (int attempt = 0; ; attempt++) {
      try {
        kms.listAliases(r -> r.limit(1));
        break;
      } catch (SdkClientException e) {
        if (attempt == 3) {
          return;
        }
      }
    }
    while (true) {
      try {
        step(kms, iam);
        pending = null;
        acknowledged++;
      } catch (SdkClientException e) {
        return; // the gateway is gone; pending stays: it may or may not have happened
      } catch (AwsServiceException e) {
        refused.add(pending + ": " + e.awsErrorDetails().errorCode() + " " + e.getMessage());
        pending = null;
      }
    }
  }

  private String next() {
    return prefix + (seq++);
  }

  private <T> T pick(java.util.Collection<T> from) {
    List<T> list = new ArrayList<>(from);
    return list.get(rng.nextInt(list.size()));
  }

  private void step(KmsClient kms, IamClient iam) {
    int dice = rng.nextInt(100);
    String marker = next();
    if (keys.size() < 2 || (dice < 18 && keys.size() < 5)) {
      pending = new Pending("CreateKey", null, marker);
      String id = kms.createKey(r -> r.description(marker)).keyMetadata().keyId();
      keys.put(id, 0);
    } else if (dice < 30) {
      String key = pick(keys.keySet());
      if (keys.get(key) >= 8) {
        encrypt(kms, key);
        return;
      }
      pending = new Pending("RotateKeyOnDemand", key, marker);
      kms.rotateKeyOnDemand(r -> r.keyId(key));
      keys.merge(key, 1, Integer::sum);
    } else if (dice < 38 && keys.size() > 2) {
      String key = pick(keys.keySet());
      pending = new Pending("ScheduleKeyDeletion", key, marker);
      kms.scheduleKeyDeletion(r -> r.keyId(key).pendingWindowInDays(7));
      keys.remove(key);
      scheduled.add(key);
    } else if (dice < 48) {
      String key = pick(keys.keySet());
      String name = "alias/" + marker;
      pending = new Pending("CreateAlias", name, marker);
      kms.createAlias(r -> r.aliasName(name).targetKeyId(key));
      aliases.put(name, key);
    } else if (dice < 54 && !liveAliases().isEmpty()) {
      String name = pick(liveAliases());
      String key = pick(keys.keySet());
      pending = new Pending("UpdateAlias", name, key);
      kms.updateAlias(r -> r.aliasName(name).targetKeyId(key));
      aliases.put(name, key);
    } else if (dice < 58 && !liveAliases().isEmpty()) {
      String name = pick(liveAliases());
      pending = new Pending("DeleteAlias", name, marker);
      kms.deleteAlias(r -> r.aliasName(name));
      aliases.remove(name);
    } else if (dice < 66) {
      String key = pick(keys.keySet());
      pending = new Pending("CreateGrant", key, marker);
      String grantId = kms.createGrant(r -> r.keyId(key).name(marker)
          .granteePrincipal("arn:aws:iam::" + GatewayProcess.ACCOUNT + ":user/" + marker)
          .operations(GrantOperation.ENCRYPT, GrantOperation.DECRYPT)).grantId();
      grants.put(grantId, key);
    } else if (dice < 71 && !liveGrants().isEmpty()) {
      String grantId = pick(liveGrants());
      String key = grants.get(grantId);
      pending = new Pending("RevokeGrant", grantId, marker);
      kms.revokeGrant(r -> r.keyId(key).grantId(grantId));
      grants.remove(grantId);
    } else if (dice < 77 || users.isEmpty()) {
      pending = new Pending("CreateUser", marker, marker);
      iam.createUser(r -> r.userName(marker));
      users.put(marker, new User());
    } else if (dice < 83) {
      String user = pick(users.keySet());
      if (users.get(user).accessKeys.size() >= 2) {
        encrypt(kms, pick(keys.keySet()));
        return;
      }
      pending = new Pending("CreateAccessKey", user, marker);
      String akid = iam.createAccessKey(r -> r.userName(user)).accessKey().accessKeyId();
      users.get(user).accessKeys.add(akid);
    } else if (dice < 90) {
      String user = pick(users.keySet());
      pending = new Pending("PutUserPolicy", user, marker);
      iam.putUserPolicy(r -> r.userName(user).policyName("p").policyDocument(policy(marker)));
      users.get(user).policyMarker = marker;
    } else {
      encrypt(kms, pick(keys.keySet()));
    }
  }

  private void encrypt(KmsClient kms, String key) {
    pending = new Pending("Encrypt", key, null);
    kms.encrypt(r -> r.keyId(key).plaintext(SdkBytes.fromUtf8String("crash loop")));
  }

  /** Aliases whose key is not scheduled for deletion (an alias of such a key cannot be changed any more). */
  private List<String> liveAliases() {
    return aliases.entrySet().stream().filter(e -> keys.containsKey(e.getValue())).map(Map.Entry::getKey).toList();
  }

  private List<String> liveGrants() {
    return grants.entrySet().stream().filter(e -> keys.containsKey(e.getValue())).map(Map.Entry::getKey).toList();
  }

  static String policy(String marker) {
    return "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"" + marker.replace("-", "")
        + "\",\"Effect\":\"Allow\",\"Action\":\"kms:Encrypt\",\"Resource\":\"*\"}]}";
  }
}
