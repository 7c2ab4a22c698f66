using System.Text;

namespace Pipeline.Host.SupportedModels;

/// <summary>The supported-models table as text (`pipeline models --supported`) and as docs/supported-models.md.</summary>
public static class SupportedModelsFormat
{
    public static string Text(IReadOnlyList<SupportedModelRow> rows)
    {
        var sb = new StringBuilder();
        foreach (var (key, title) in SupportedModelsTable.Sections)
        {
            var section = rows.Where(r => r.Section == key).ToList();
            if (section.Count == 0) continue;
            if (sb.Length > 0) sb.Append('\n');
            sb.Append($"# {title.Replace("`", "")}: {Count(section)}\n");
            int a = Math.Max(12, section.Max(r => r.Architecture.Length)), m = Math.Min(40, Math.Max(6, section.Max(r => r.Models.Length)));
            sb.Append($"{"ARCHITECTURE".PadRight(a)}  {"MODELS".PadRight(m)}  STATUS\n");
            foreach (var r in section)
                sb.Append($"{r.Architecture.PadRight(a)}  {r.Models.PadRight(m)}  {StatusWithFixtures(r)}\n");
        }
        return sb.ToString();
    }

    /// <summary>The status, and for a supported architecture the fixture folders (tests/fixtures/...) that check it.</summary>
    public static string StatusWithFixtures(SupportedModelRow r) =>
        !r.Supported || r.Section == "plugins" ? r.Status
        : r.Fixtures.Count > 0 ? $"{r.Status}; fixtures: {string.Join(", ", r.Fixtures)}" : $"{r.Status}; no fixture of its own yet";

    static string Count(List<SupportedModelRow> section) => $"{section.Count(r => r.Supported)} of {section.Count} supported";

    public static string Markdown(IReadOnlyList<SupportedModelRow> rows)
    {
        var sb = new StringBuilder();
        sb.Append("# Supported models\n\n");
        sb.Append("<!-- Generated: `pipeline models --supported --format markdown > docs/supported-models.md`, from the registries\n");
        sb.Append("     (src/Models/Registry), src/Host/SupportedModels/vllm-supported-models.tsv and the fixture folders. Edit those, not this file. -->\n\n");
        sb.Append("Every architecture of vLLM's supported-models tables (text generation, the pooling tasks, multimodal text generation,\n");
        sb.Append("transcription and multimodal embedding), with its status here. **Supported** means a registry entry answers to the\n");
        sb.Append("name (vLLM's spelling or transformers' class name) and the fixture folders listed (under tests/fixtures) hold a tiny\n");
        sb.Append("random model made by transformers with transformers' outputs, which the tests match on CPU in float32 (greedy tokens\n");
        sb.Append("and top-5 logprobs by vLLM's rule, batched and one at a time; hidden states and scores for pooling; image features,\n");
        sb.Append("pixel values and expanded prompts for images; encoder features and transcripts for speech). A causal LM in a\n");
        sb.Append("pooling table runs through `--runner pooling --convert ...` (checked against transformers by ConvertTests on the\n");
        sb.Append("llama-embed fixture). **Not yet** gives the reason. `pipeline models --supported` prints the same table, plus the\n");
        sb.Append("architectures of loaded model plugins (`--model-plugin PATH.dll`, see samples/Pipeline.ModelPlugin).\n");
        foreach (var (key, title) in SupportedModelsTable.Sections)
        {
            var section = rows.Where(r => r.Section == key).ToList();
            if (section.Count == 0) continue;
            sb.Append($"\n## {title}\n\n{Count(section)}.\n\n");
            sb.Append("| Architecture | Models | Status | Fixtures |\n| --- | --- | --- | --- |\n");
            foreach (var r in section)
                sb.Append($"| {Cell(r.Architecture)} | {Cell(r.Models)} | {Cell(r.Status)} | {Cell(string.Join(", ", r.Fixtures))} |\n");
        }
        return sb.ToString();
    }

    static string Cell(string s) => s.Replace("|", "\\|");
}
