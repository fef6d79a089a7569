package io.kmsgw.api.iam;

import static io.kmsgw.api.iam.QueryApi.params;

import io.kmsgw.api.iam.QueryApi.Action;
import io.kmsgw.iam.IamService;
import io.kmsgw.iam.Identities;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/** The IAM actions kmsgw implements, each with the parameters it takes and the XML it answers. */
public final class IamActions {
  private IamActions() {}

  public static Map<String, Action> of(IamService iam) {
    Map<String, Action> a = new LinkedHashMap<>();
    a.put("CreateUser", new Action(params("UserName", "Path"), (c, p) ->
        iam.createUser(c, p.get("UserName"), p.get("Path")).thenApply(u -> x -> user(x.open("User"), u)
            .close("User"))));
    a.put("GetUser", new Action(params("UserName"), (c, p) -> done(x -> user(x.open("User"),
        iam.getUser(c, p.get("UserName"))).close("User"))));
    a.put("DeleteUser", new Action(params("UserName"), (c, p) -> empty(iam.deleteUser(c, p.get("UserName")))));
    a.put("ListUsers", new Action(params("PathPrefix", "Marker", "MaxItems"), (c, p) -> {
      IamService.Page<Identities.User> page = iam.listUsers(c, p.get("PathPrefix"), p.get("Marker"),
          p.integer("MaxItems"));
      return done(x -> {
        x.open("Users");
        page.items().forEach(u -> user(x.open("member"), u).close("member"));
        x.close("Users");
        paging(x, page.nextMarker());
      });
    }));
    a.put("CreateAccessKey", new Action(params("UserName"), (c, p) ->
        iam.createAccessKey(c, p.get("UserName")).thenApply(k -> x -> x.open("AccessKey")
            .leaf("UserName", k.userName())
            .leaf("AccessKeyId", k.key().accessKeyId())
            .leaf("Status", k.key().status())
            .leaf("SecretAccessKey", k.secretAccessKey())
            .leaf("CreateDate", k.key().createdAt())
            .close("AccessKey"))));
    a.put("DeleteAccessKey", new Action(params("UserName", "AccessKeyId"), (c, p) ->
        empty(iam.deleteAccessKey(c, p.get("UserName"), p.get("AccessKeyId")))));
    a.put("ListAccessKeys", new Action(params("UserName", "Marker", "MaxItems"), (c, p) -> {
      p.integer("MaxItems");
      IamService.KeyList keys = iam.listAccessKeys(c, p.get("UserName"));
      return done(x -> {
        x.open("AccessKeyMetadata");
        keys.keys().forEach(k -> x.open("member")
            .leaf("UserName", keys.userName())
            .leaf("AccessKeyId", k.accessKeyId())
            .leaf("Status", k.status())
            .leaf("CreateDate", k.createdAt())
            .close("member"));
        x.close("AccessKeyMetadata");
        paging(x, null);
      });
    }));
    a.put("PutUserPolicy", new Action(params("UserName", "PolicyName", "PolicyDocument"), (c, p) ->
        empty(iam.putUserPolicy(c, p.get("UserName"), p.get("PolicyName"), p.get("PolicyDocument")))));
    a.put("GetUserPolicy", new Action(params("UserName", "PolicyName"), (c, p) -> {
      IamService.OwnedPolicy policy = iam.getUserPolicy(c, p.get("UserName"), p.get("PolicyName"));
      return done(x -> x.leaf("UserName", policy.owner()).leaf("PolicyName", policy.policy().name())
          .leaf("PolicyDocument", Xml.urlEncoded(policy.policy().document().source())));
    }));
    a.put("ListUserPolicies", new Action(params("UserName", "Marker", "MaxItems"), (c, p) -> {
      p.integer("MaxItems");
      return names(iam.listUserPolicies(c, p.get("UserName")));
    }));
    a.put("DeleteUserPolicy", new Action(params("UserName", "PolicyName"), (c, p) ->
        empty(iam.deleteUserPolicy(c, p.get("UserName"), p.get("PolicyName")))));
    a.put("CreateRole", new Action(params("RoleName", "Path", "AssumeRolePolicyDocument", "Description",
        "MaxSessionDuration"), (c, p) -> iam.createRole(c, new IamService.NewRole(p.get("RoleName"), p.get("Path"),
            p.get("AssumeRolePolicyDocument"), p.get("Description"), p.integer("MaxSessionDuration")))
        .thenApply(r -> x -> role(x.open("Role"), r).close("Role"))));
    a.put("GetRole", new Action(params("RoleName"), (c, p) -> done(x -> role(x.open("Role"),
        iam.getRole(c, p.get("RoleName"))).close("Role"))));
    a.put("ListRoles", new Action(params("PathPrefix", "Marker", "MaxItems"), (c, p) -> {
      IamService.Page<Identities.Role> page = iam.listRoles(c, p.get("PathPrefix"), p.get("Marker"),
          p.integer("MaxItems"));
      return done(x -> {
        x.open("Roles");
        page.items().forEach(r -> role(x.open("member"), r).close("member"));
        x.close("Roles");
        paging(x, page.nextMarker());
      });
    }));
    a.put("DeleteRole", new Action(params("RoleName"), (c, p) -> empty(iam.deleteRole(c, p.get("RoleName")))));
    a.put("PutRolePolicy", new Action(params("RoleName", "PolicyName", "PolicyDocument"), (c, p) ->
        empty(iam.putRolePolicy(c, p.get("RoleName"), p.get("PolicyName"), p.get("PolicyDocument")))));
    a.put("GetRolePolicy", new Action(params("RoleName", "PolicyName"), (c, p) -> {
      IamService.OwnedPolicy policy = iam.getRolePolicy(c, p.get("RoleName"), p.get("PolicyName"));
      return done(x -> x.leaf("RoleName", policy.owner()).leaf("PolicyName", policy.policy().name())
          .leaf("PolicyDocument", Xml.urlEncoded(policy.policy().document().source())));
    }));
    a.put("ListRolePolicies", new Action(params("RoleName", "Marker", "MaxItems"), (c, p) -> {
      p.integer("MaxItems");
      return names(iam.listRolePolicies(c, p.get("RoleName")));
    }));
    a.put("DeleteRolePolicy", new Action(params("RoleName", "PolicyName"), (c, p) ->
        empty(iam.deleteRolePolicy(c, p.get("RoleName"), p.get("PolicyName")))));
    return a;
  }

  private static CompletableFuture<Consumer<Xml>> done(Consumer<Xml> result) {
    return CompletableFuture.completedFuture(result);
  }

  private static CompletableFuture<Consumer<Xml>> empty(CompletableFuture<Void> f) {
    return f.thenApply(v -> null);
  }

  private static CompletableFuture<Consumer<Xml>> names(List<String> names) {
    return done(x -> {
      x.open("PolicyNames");
      names.forEach(n -> x.leaf("member", n));
      x.close("PolicyNames");
      paging(x, null);
    });
  }

  private static void paging(Xml x, String nextMarker) {
    x.leaf("IsTruncated", nextMarker != null);
    x.leaf("Marker", nextMarker);
  }

  private static Xml user(Xml x, Identities.User u) {
    return x.leaf("Path", u.path())
        .leaf("UserName", u.name())
        .leaf("UserId", u.userId())
        .leaf("Arn", u.arn())
        .leaf("CreateDate", u.createdAt());
  }

  private static Xml role(Xml x, Identities.Role r) {
    return x.leaf("Path", r.path())
        .leaf("RoleName", r.name())
        .leaf("RoleId", r.roleId())
        .leaf("Arn", r.arn())
        .leaf("CreateDate", r.createdAt())
        .leaf("AssumeRolePolicyDocument", Xml.urlEncoded(r.trustPolicy().source()))
        .leaf("Description", r.description())
        .leaf("MaxSessionDuration", r.maxSessionSeconds());
  }
}
