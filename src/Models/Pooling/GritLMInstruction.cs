using Pipeline.Models.Tokenizers;

namespace Pipeline.Models.Pooling;

/// <summary>
/// Where GritLM's instruction ends in a prompt, found by token pattern as vLLM's GritLMMeanPool does, so that MEAN
/// pooling covers only the text. Prompts look like "&lt;s&gt;&lt;|user|&gt;\nINSTRUCTION\n&lt;|embed|&gt;\nTEXT" or
/// "&lt;s&gt;&lt;|embed|&gt;\nTEXT". No BOS: no instruction (0); BOS but no embed marker: the BOS alone (1).
/// </summary>
public sealed class GritLMInstruction
{
    readonly int _bos;
    readonly int[] _user, _embedAfterNewline, _embed;

    public GritLMInstruction(HfTokenizer tokenizer, string source)
    {
        int Id(string token) => tokenizer.TokenToId(token)
            ?? throw new PoolingException($"GritLM: the tokenizer in {source} has no token '{token}', which its instruction pattern needs");
        _bos = Id("<s>");
        _user = [Id("▁<"), Id("|"), Id("user"), Id("|"), Id(">"), Id("<0x0A>")];
        _embedAfterNewline = [Id("<0x0A>"), Id("<"), Id("|"), Id("embed"), Id("|"), Id(">"), Id("<0x0A>")];
        _embed = [Id("▁<"), Id("|"), Id("embed"), Id("|"), Id(">"), Id("<0x0A>")];
    }

    public int Length(int[] ids)
    {
        if (ids.Length == 0 || ids[0] != _bos) return 0;
        // After "<|user|>\n" the embed marker follows a newline, and tokenizes as such.
        var pattern = StartsAt(ids, _user, 1) ? _embedAfterNewline : _embed;
        for (int i = 1; i + pattern.Length <= ids.Length; i++)
            if (StartsAt(ids, pattern, i)) return i + pattern.Length;
        return 1;
    }

    static bool StartsAt(int[] ids, int[] pattern, int at) =>
        at + pattern.Length <= ids.Length && ids.AsSpan(at, pattern.Length).SequenceEqual(pattern);
}
