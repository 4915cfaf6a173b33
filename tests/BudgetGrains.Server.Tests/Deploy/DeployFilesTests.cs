using BudgetGrains.Server.Hosting;
using BudgetGrains.Server.Observability;
using Orleans.Hosting.Kubernetes;
using YamlDotNet.RepresentationModel;

namespace BudgetGrains.Server.Tests.Deploy;

/// <summary>
/// deploy/Dockerfile and deploy/kubernetes/*.yaml against what the silo reads (docs/decisions/0032-kubernetes.md). Their
/// settings are bound by the silo's own command-line parser (unknown settings and bad values are refused there); ports,
/// probes, labels and environment names are compared with the code's constants. Nothing is built or deployed.
/// </summary>
public sealed class DeployFilesTests
{
    private const string SettingPrefix = SiloOptions.Section + "__";
    private static readonly string Deploy = Path.Combine(Components.RepositoryRoot, "deploy");

    private static readonly Lazy<IReadOnlyList<YamlMappingNode>> Manifests = new(() =>
        [.. Directory.GetFiles(Path.Combine(Deploy, "kubernetes"), "*.yaml").Order(StringComparer.Ordinal).SelectMany(file =>
        {
            var stream = new YamlStream();
            using (var reader = File.OpenText(file)) stream.Load(reader);
            return stream.Documents.Select(d => (YamlMappingNode)d.RootNode);
        })]);

    [Fact]
    public void The_manifests_parse_and_hold_what_a_cluster_needs()
    {
        var kinds = Manifests.Value.Select(m => Text(m, "kind")).ToList();
        foreach (var kind in new[] { "ServiceAccount", "Role", "RoleBinding", "Service", "PodDisruptionBudget" }) Assert.Contains(kind, kinds);
        Assert.Single(kinds, k => k is "Deployment" or "StatefulSet");
    }

    [Fact]
    public void The_silo_container_sets_only_settings_the_silo_reads_and_runs_a_kubernetes_cluster_on_postgres()
    {
        var options = SiloSettings();
        Assert.True(options.Kubernetes && options.Cluster, "the pods run as a Kubernetes cluster");
        Assert.Equal(JournalBackend.Postgres, options.Storage);
        Assert.Equal(ClusterProfile.PostgresMembership, options.Membership);
        // Beyond loopback keys are required, and the bootstrap key file is on a mounted volume of the container.
        Assert.False(System.Net.IPAddress.IsLoopback(options.ListenEndPoint.Address));
        Assert.Equal("required", options.Auth.Mode);
        // The root file system is read-only: the data directory and the key file are on mounted volumes.
        var mounts = Sequence(SiloContainer(), "volumeMounts").Select(m => Text(m, "mountPath")!).ToList();
        Assert.Equal("true", At(SiloContainer(), "securityContext", "readOnlyRootFilesystem"));
        Assert.Contains(options.DataDir, mounts);
        Assert.Contains(mounts, mount => options.Auth.AdminKeyFile!.StartsWith(mount + "/", StringComparison.Ordinal));
        // Orleans' Kubernetes hosting reads these from the downward API; the connection string comes from a Secret.
        var environment = SiloEnvironment().ToDictionary(e => e.Name, e => e.Node);
        foreach (var variable in ClusterProfile.KubernetesEnvironment)
            Assert.True(environment.TryGetValue(variable, out var node) && At(node, "valueFrom", "fieldRef", "fieldPath") is not null, variable + " from a fieldRef");
        Assert.NotNull(At(environment[SettingPrefix + nameof(SiloOptions.PostgresConnectionString)], "valueFrom", "secretKeyRef", "key"));
    }

    [Fact]
    public void The_pods_orleans_labels_are_the_silos_service_id_and_cluster_id()
    {
        var labels = Mapping(PodTemplate(), "metadata", "labels");
        Assert.Equal(OrleansHosting.ServiceId, Text(labels, KubernetesHostingOptions.ServiceIdLabel));
        Assert.Contains(KubernetesHostingOptions.ClusterIdLabel, labels.Children.Keys.Select(k => k.ToString()));
        var clusterId = SiloEnvironment().Single(e => e.Name == SettingPrefix + nameof(SiloOptions.ClusterId)).Node;
        Assert.Equal($"metadata.labels['{KubernetesHostingOptions.ClusterIdLabel}']", At(clusterId, "valueFrom", "fieldRef", "fieldPath"));
    }

    [Fact]
    public void Ports_probes_service_and_disruption_budget_match_the_silos_endpoints()
    {
        var options = SiloSettings();
        var container = SiloContainer();
        var ports = Sequence(container, "ports").ToDictionary(p => Text(p, "name")!, p => int.Parse(Text(p, "containerPort")!, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(new Dictionary<string, int>
        {
            ["grpc"] = options.ListenEndPoint.Port, ["http"] = options.HttpEndPoint!.Port, ["silo"] = options.SiloPort, ["gateway"] = options.GatewayPort,
        }, ports);

        // Readiness from gRPC health on the gRPC port; liveness and start-up from /healthz on the HTTP port.
        Assert.Equal(ports["grpc"], PortOf(At(container, "readinessProbe", "grpc", "port")!, ports));
        foreach (var probe in new[] { "livenessProbe", "startupProbe" })
        {
            Assert.Equal(ObservabilityHosting.LivePath, At(container, probe, "httpGet", "path"));
            Assert.Equal(ports["http"], PortOf(At(container, probe, "httpGet", "port")!, ports));
        }

        var podLabels = Mapping(PodTemplate(), "metadata", "labels");
        var service = Manifests.Value.Single(m => Text(m, "kind") == "Service");
        Assert.Equal([ports["grpc"], ports["http"]], Sequence(Mapping(service, "spec"), "ports").Select(p => PortOf(Text(p, "targetPort")!, ports)).Order());
        AssertSelects(Mapping(service, "spec", "selector"), podLabels);
        var budget = Manifests.Value.Single(m => Text(m, "kind") == "PodDisruptionBudget");
        AssertSelects(Mapping(budget, "spec", "selector", "matchLabels"), podLabels);
        Assert.True(At(budget, "spec", "maxUnavailable") is not null || At(budget, "spec", "minAvailable") is not null);
    }

    [Fact]
    public void The_role_lets_the_pods_service_account_do_what_orleans_kubernetes_hosting_does_with_pods()
    {
        var role = Manifests.Value.Single(m => Text(m, "kind") == "Role");
        var rule = Sequence(role, "rules").Single(r => Scalars(r, "resources").Contains("pods"));
        Assert.Equal(["delete", "get", "list", "patch", "watch"], Scalars(rule, "verbs").Order(StringComparer.Ordinal));
        var binding = Manifests.Value.Single(m => Text(m, "kind") == "RoleBinding");
        Assert.Equal(Text(Mapping(role, "metadata"), "name"), At(binding, "roleRef", "name"));
        var account = Text(Mapping(PodTemplate(), "spec"), "serviceAccountName");
        Assert.Contains(Sequence(binding, "subjects"), s => Text(s, "kind") == "ServiceAccount" && Text(s, "name") == account);
        Assert.Contains(Manifests.Value, m => Text(m, "kind") == "ServiceAccount" && At(m, "metadata", "name") == account);
    }

    [Fact]
    public void The_dockerfile_builds_in_two_stages_runs_unprivileged_and_exposes_and_probes_what_its_settings_say()
    {
        var instructions = DockerInstructions();
        var stages = instructions.Where(i => i.Keyword == "FROM").Select(i => i.Arguments).ToList();
        Assert.Equal(2, stages.Count);
        Assert.Contains("dotnet/sdk:", stages[0], StringComparison.Ordinal);
        Assert.Contains("dotnet/aspnet:", stages[1], StringComparison.Ordinal);
        var user = instructions.Last(i => i.Keyword == "USER").Arguments;
        Assert.DoesNotContain(user, new[] { "root", "0" });

        var settings = instructions.Where(i => i.Keyword == "ENV").SelectMany(i => i.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(pair => pair.Split('=', 2)).Select(pair => (pair[0], (string?)pair[1]));
        var options = Parse(settings);
        var exposed = instructions.Where(i => i.Keyword == "EXPOSE").SelectMany(i => i.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(p => int.Parse(p, System.Globalization.CultureInfo.InvariantCulture)).Order();
        Assert.Equal(new[] { options.ListenEndPoint.Port, options.HttpEndPoint!.Port, options.SiloPort, options.GatewayPort }.Order(), exposed);
        Assert.Contains($"http://127.0.0.1:{options.HttpEndPoint.Port}{ObservabilityHosting.LivePath}", instructions.Single(i => i.Keyword == "HEALTHCHECK").Arguments, StringComparison.Ordinal);

        // The image and the pods agree on the ports.
        var pod = Sequence(SiloContainer(), "ports").Select(p => int.Parse(Text(p, "containerPort")!, System.Globalization.CultureInfo.InvariantCulture)).Order();
        Assert.Equal(exposed, pod);
    }

    /// <summary>The settings bound as the silo binds them; a setting it does not know, or a bad value, fails here.</summary>
    private static SiloOptions Parse(IEnumerable<(string Name, string? Value)> variables)
    {
        // valueFrom entries (fieldRef, secretKeyRef) have their values only in a pod: a placeholder of the right shape.
        var args = variables.Select(v => $"--{v.Name.Replace("__", ":", StringComparison.Ordinal)}={v.Value ?? "from-the-pod"}").ToArray();
        var empty = Directory.CreateTempSubdirectory("budgetgrains-deploy-").FullName;
        try
        {
            var command = CommandLine.Parse(args, empty);
            Assert.Null(command.Error);
            return command.Options!;
        }
        finally
        {
            Directory.Delete(empty);
        }
    }

    /// <summary>The silo container's BudgetGrains__* environment, bound by the silo's parser.</summary>
    private static SiloOptions SiloSettings() =>
        Parse(SiloEnvironment().Where(e => e.Name.StartsWith(SettingPrefix, StringComparison.Ordinal)).Select(e => (e.Name, e.Value)));

    private static void AssertSelects(YamlMappingNode selector, YamlMappingNode labels)
    {
        foreach (var (key, value) in selector.Children) Assert.Equal(value.ToString(), Text(labels, key.ToString()));
    }

    private static int PortOf(string port, IReadOnlyDictionary<string, int> named) =>
        int.TryParse(port, out var number) ? number : named[port];

    private static YamlMappingNode PodTemplate() =>
        Mapping(Manifests.Value.Single(m => Text(m, "kind") is "Deployment" or "StatefulSet"), "spec", "template");

    private static YamlMappingNode SiloContainer() => Sequence(Mapping(PodTemplate(), "spec"), "containers").Single(c => Text(c, "name") == "silo");

    private static IEnumerable<(string Name, string? Value, YamlMappingNode Node)> SiloEnvironment() =>
        Sequence(SiloContainer(), "env").Select(e => (Text(e, "name")!, Text(e, "value"), e));

    private static string? Text(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) && value is YamlScalarNode scalar ? scalar.Value : null;

    private static string? At(YamlMappingNode node, params string[] keys) => Text(Mapping(node, keys[..^1]), keys[^1]);

    private static YamlMappingNode Mapping(YamlMappingNode node, params string[] keys)
    {
        foreach (var key in keys) node = (YamlMappingNode)node.Children[new YamlScalarNode(key)];
        return node;
    }

    private static IEnumerable<YamlMappingNode> Sequence(YamlMappingNode node, string key) =>
        ((YamlSequenceNode)node.Children[new YamlScalarNode(key)]).Children.Cast<YamlMappingNode>();

    private static IEnumerable<string> Scalars(YamlMappingNode node, string key) =>
        ((YamlSequenceNode)node.Children[new YamlScalarNode(key)]).Children.Select(c => ((YamlScalarNode)c).Value!);

    /// <summary>The Dockerfile's instructions: comments dropped, continued lines joined.</summary>
    private static List<(string Keyword, string Arguments)> DockerInstructions()
    {
        var instructions = new List<(string, string)>();
        var current = "";
        foreach (var raw in File.ReadLines(System.IO.Path.Combine(Deploy, "Dockerfile")))
        {
            var line = raw.Trim();
            if (line.StartsWith('#') || line.Length == 0 && current.Length == 0) continue;
            current += " " + line.TrimEnd('\\').Trim();
            if (line.EndsWith('\\')) continue;
            var text = current.Trim();
            current = "";
            var space = text.IndexOf(' ', StringComparison.Ordinal);
            instructions.Add((text[..space].ToUpperInvariant(), System.Text.RegularExpressions.Regex.Replace(text[(space + 1)..], @"\s+", " ")));
        }
        return instructions;
    }
}
