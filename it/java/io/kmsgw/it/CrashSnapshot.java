package io.kmsgw.it;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import software.amazon.awssdk.services.iam.IamClient;
import software.amazon.awssdk.services.iam.model.NoSuchEntityException;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.KeyMetadata;

/**
 * What a restarted gateway shows through its API (keys with their state and rotation count, aliases, grants, IAM
 * users with their access keys and policy), and which HSM object labels its key versions call for.
 */
record CrashSnapshot(Map<String, Key> keys, Map<String, String> aliases, Map<String, Grant> grants,
    Map<String, User> users) {
  record Key(String id, String state, String description, int rotations) {}

  record Grant(String id, String keyId, String name) {}

  record User(Set<String> accessKeys, String policyMarker) {}

  private static final Pattern SID = Pattern.compile("\"Sid\"\\s*:\\s*\"([^\"]*)\"");

  /**
   * Reads everything, the keys' details on a few threads at once (a snapshot is taken after every kill). A key
   * listed and then not found was destroyed in between: the restarted gateway destroys the deletions that fell due
   * while it was down (the loop moves its clock on) as it starts, perhaps while the snapshot is read; the snapshot is
   * then read again, so that it shows one moment.
   */
  static CrashSnapshot take(KmsClient kms, IamClient iam, ExecutorService pool) throws Exception {
    for (int attempt = 1; ; attempt++) {
      try {
        return read(kms, iam, pool);
      } catch (java.util.concurrent.ExecutionException e) {
        if (!(e.getCause() instanceof software.amazon.awssdk.services.kms.model.NotFoundException) || attempt == 5) {
          throw e;
        }
        Thread.sleep(200);
      }
    }
  }

  private static CrashSnapshot read(KmsClient kms, IamClient iam, ExecutorService pool) throws Exception {
    Map<String, Key> keys = new ConcurrentHashMap<>();
    Map<String, Grant> grants = new ConcurrentHashMap<>();
    List<Future<?>> reads = new ArrayList<>();
    for (var entry : kms.listKeysPaginator(r -> r.limit(1000)).keys()) {
      reads.add(pool.submit(() -> {
        KeyMetadata m = kms.describeKey(r -> r.keyId(entry.keyId())).keyMetadata();
        int rotations = kms.listKeyRotations(r -> r.keyId(entry.keyId()).limit(1000)).rotations().size();
        keys.put(m.keyId(), new Key(m.keyId(), m.keyStateAsString(), m.description(), rotations));
        if (!"PendingDeletion".equals(m.keyStateAsString())) {
          for (var g : kms.listGrantsPaginator(r -> r.keyId(entry.keyId())).grants()) {
            grants.put(g.grantId(), new Grant(g.grantId(), m.keyId(), g.name()));
          }
        }
        return null;
      }));
    }
    for (Future<?> f : reads) {
      f.get();
    }
    Map<String, String> aliases = new LinkedHashMap<>();
    for (var a : kms.listAliasesPaginator(r -> r.limit(100)).aliases()) {
      if (a.targetKeyId() != null) {
        aliases.put(a.aliasName(), a.targetKeyId());
      }
    }
    Map<String, User> users = new LinkedHashMap<>();
    for (var u : iam.listUsersPaginator().users()) {
      Set<String> accessKeys = new HashSet<>();
      iam.listAccessKeysPaginator(r -> r.userName(u.userName())).accessKeyMetadata()
          .forEach(k -> accessKeys.add(k.accessKeyId()));
      String marker = null;
      try {
        String doc = iam.getUserPolicy(r -> r.userName(u.userName()).policyName("p")).policyDocument();
        Matcher m = SID.matcher(doc.startsWith("%") ? URLDecoder.decode(doc, StandardCharsets.UTF_8) : doc);
        marker = m.find() ? m.group(1) : "(no Sid)";
      } catch (NoSuchEntityException e) {
        // no inline policy yet
      }
      users.put(u.userName(), new User(accessKeys, marker));
    }
    return new CrashSnapshot(keys, aliases, grants, users);
  }

  /** Keys still pending deletion (their destruction, due at start, may still be running). */
  List<String> pendingDeletion() {
    return keys.values().stream().filter(k -> "PendingDeletion".equals(k.state())).map(Key::id).toList();
  }

  /** The token labels the store's key versions call for: {@code kmsgw:<key id>:v1} up to the current version. */
  Set<String> expectedLabels() {
    Set<String> labels = new TreeSet<>();
    for (Key k : keys.values()) {
      for (int v = 1; v <= k.rotations() + 1; v++) {
        labels.add("kmsgw:" + k.id() + ":v" + v);
      }
    }
    return labels;
  }

  /** The {@code kmsgw:} secret-key labels in a pkcs11-tool listing. */
  static Set<String> labelsIn(String listing) {
    Set<String> labels = new TreeSet<>();
    for (String line : listing.split("\n")) {
      String s = line.strip();
      if (s.startsWith("label:")) {
        String label = s.substring("label:".length()).strip();
        if (label.startsWith("kmsgw:")) {
          labels.add(label);
        }
      }
    }
    return labels;
  }
}
