using System.Text.Json;
using Pipeline.Host.Commands;
using Pipeline.Host.SupportedModels;
using Pipeline.Models.Architectures;
using Pipeline.Models.Registry;

namespace Pipeline.Host.Tests.SupportedModels;

/// <summary>
/// docs/supported-models.md against `pipeline models --supported` and the registries (issue 24, point 7): the doc is
/// the command's markdown, the command's rows say the same, every vLLM row is either registered or says why not, and
/// every registered architecture is checked by a fixture folder made by transformers.
/// </summary>
public class SupportedModelsDocTests
{
    const string Regenerate = "dotnet run --project src/Host -c Release -- models --supported --format markdown > docs/supported-models.md";

    /// <summary>Registered without a fixture folder of their own (yet); each says what covers it meanwhile.</summary>
    static readonly Dictionary<string, string> WithoutOwnFixture = new()
    {
        ["XLMRobertaModel"] = "the XLM-RoBERTa encoder is checked by pooling/xlm-roberta-score (XLMRobertaForSequenceClassification)",
        ["MistralModel"] = "the Mistral decoder is checked by models/mistral-slidingwindow, its pooling by pooling/llama-embed",
        ["Qwen2ForProcessRewardModel"] = "the Qwen2 reward head is checked by pooling/qwen2-reward (Qwen2ForRewardModel); STEP pooling by unit tests",
    };

    static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Pipeline.sln"))) return d.FullName;
        throw new InvalidOperationException("Pipeline.sln not found above " + AppContext.BaseDirectory);
    }

    [Fact]
    public void TheDocIsTheCommandsMarkdown()
    {
        var doc = File.ReadAllText(Path.Combine(RepoRoot(), "docs", "supported-models.md"));
        Assert.True(doc == ModelsCommand.Markdown(), $"docs/supported-models.md is out of date with the registries; regenerate it: {Regenerate}");
    }

    [Fact]
    public void TheCommandPrintsEveryRowOfTheDoc()
    {
        var (exit, stdout, stderr) = PipelineProcess.Run("models", "--supported");
        Assert.True(exit == 0, stderr);
        var lines = stdout.Split('\n');
        var docRows = File.ReadAllLines(Path.Combine(RepoRoot(), "docs", "supported-models.md"))
            .Where(l => l.StartsWith("| ") && !l.StartsWith("| Architecture") && !l.StartsWith("| ---"))
            .Select(l => l.Split(" | ").Select(c => c.Trim('|', ' ')).ToArray()).ToList();
        Assert.Equal(SupportedModelsTable.Rows(includePlugins: false).Count, docRows.Count);
        foreach (var row in docRows)
        {
            var (arch, status, fixtures) = (row[0], row[2], row[3]);
            var expected = !status.StartsWith("supported") ? status : fixtures.Length > 0 ? $"{status}; fixtures: {fixtures}" : $"{status}; no fixture of its own yet";
            Assert.True(lines.Any(l => l.StartsWith(arch + " ") && l.TrimEnd().EndsWith("  " + expected)), $"no line of `pipeline models --supported` says: {arch} ... {expected}");
        }
    }

    [Fact]
    public void EveryVllmRowIsRegisteredOrSaysWhyNot()
    {
        var seed = SeedRow.Load();
        Assert.Equal(79, seed.Count(r => r.Section == "generate"));   // the seed's 77 rows; ChatGLM and Cohere rows name two
        Assert.Equal(42, seed.Count(r => r.Section == "generate-multimodal"));
        Assert.Equal(1, seed.Count(r => r.Section == "transcription"));
        foreach (var row in SupportedModelsTable.Rows(seed, includePlugins: false).Where(r => !r.Supported))
            Assert.False(row.Status.EndsWith("no reason recorded"), $"{row.Section} {row.Architecture} is not registered and vllm-supported-models.tsv gives no reason");
    }

    static Dictionary<string, List<string>> FixtureFoldersByExpectedArchitecture()
    {
        var byArch = new Dictionary<string, List<string>>();
        foreach (var kind in new[] { "models", "pooling", "multimodal/models", "audio/reference/models" })
            foreach (var dir in Directory.GetDirectories(Path.Combine(AppContext.BaseDirectory, "fixtures", kind)))
            {
                using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "expected.json")));
                var arch = doc.RootElement.GetProperty("architecture").GetString()!;
                if (!byArch.TryGetValue(arch, out var list)) byArch[arch] = list = [];
                list.Add($"{kind}/{Path.GetFileName(dir)}");
            }
        return byArch;
    }

    [Fact]
    public void EveryRegisteredArchitectureHasAFixtureThatNamesIt()
    {
        var byArch = FixtureFoldersByExpectedArchitecture();
        var registered = ModelRegistry.BuiltIn.Select(e => e.Architecture).ToList();
        var missing = registered.Where(a => !byArch.ContainsKey(a) && !WithoutOwnFixture.ContainsKey(a)).ToList();
        Assert.True(missing.Count == 0, $"registered without a fixture folder whose expected.json names it: {string.Join(", ", missing)}");
        foreach (var a in WithoutOwnFixture.Keys)
        {
            Assert.Contains(a, registered);
            Assert.False(byArch.ContainsKey(a), $"{a} has a fixture now ({string.Join(", ", byArch.GetValueOrDefault(a) ?? [])}): take it out of WithoutOwnFixture");
        }
    }

    [Fact]
    public void TheCommandsFixtureColumnIsTheFixtureFolders()
    {
        // The command reads each folder's config.json (embedded at build); the tests compare with expected.json.
        var byArch = FixtureFoldersByExpectedArchitecture();
        var fromConfig = FixtureIndex.Folders.GroupBy(f => f.Architecture).ToDictionary(g => g.Key, g => g.Select(f => f.Folder).Order(StringComparer.Ordinal).ToList());
        Assert.Equal(byArch.Keys.Order(StringComparer.Ordinal), fromConfig.Keys.Order(StringComparer.Ordinal));
        foreach (var (arch, folders) in byArch) Assert.Equal(folders.Order(StringComparer.Ordinal), fromConfig[arch]);
    }

    sealed class NamedPlugin(string name) : IModelPlugin
    {
        public void Register(ModelRegistryBuilder registry) =>
            registry.AddCausalLM(name, (c, w, t, d) => new LlamaForCausalLM(c, w, t, d), exampleModels: "a test plugin");
    }

    [Fact]
    public void PluginArchitecturesAreListedByTheCommandNotByTheDoc()
    {
        ModelPlugins.Register(new NamedPlugin("DocTestsPluginForCausalLM"), "doc-tests.dll");
        Assert.Contains(SupportedModelsTable.Rows(includePlugins: true),
            r => r.Section == "plugins" && r.Architecture == "DocTestsPluginForCausalLM" && r.Status == "plugin doc-tests.dll");
        Assert.Contains("DocTestsPluginForCausalLM", ModelsCommand.Table());
        Assert.DoesNotContain("DocTestsPluginForCausalLM", ModelsCommand.Markdown());
    }

    [Theory]
    [InlineData("generate", "--model-plugin", "/no/such/dir/Plugin.dll", "--prompt", "x")]
    [InlineData("models", "--supported", "--model-plugin", "/no/such/dir/Plugin.dll")]
    [InlineData("bench-latency", "--model-plugin", "/no/such/dir/Plugin.dll")]
    public void AMissingPluginIsOneErrorLine(params string[] args)
    {
        var (exit, _, stderr) = PipelineProcess.Run(args);
        Assert.Equal(1, exit);
        Assert.Equal("error: model plugin '/no/such/dir/Plugin.dll' was not found (its folder does not exist)", stderr.TrimEnd('\n'));
    }

    [Fact]
    public void AnEmptyPluginFolderIsAnError()
    {
        var dir = Directory.CreateTempSubdirectory("plugins").FullName;
        var (exit, _, stderr) = PipelineProcess.Run("serve", "--model-plugin-dir", dir);
        Assert.Equal(1, exit);
        Assert.Equal($"error: model plugin folder '{dir}' has no plugin: expected DIR/*.dll or DIR/NAME/NAME.dll", stderr.TrimEnd('\n'));
    }
}
