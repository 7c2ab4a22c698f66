namespace Pipeline.Models.Forward;

/// <summary>
/// Positions [Start, Start + Length) of a sequence. As a bidirectional range (vLLM's mm prefix-LM ranges: Gemma 3's
/// image tokens, PaliGemma's prompt) its tokens attend to each other in both directions during prefill, so it must be
/// computed in one step.
/// </summary>
public readonly record struct PositionRange(int Start, int Length)
{
    public int End => Start + Length;
    public bool Contains(int position) => position >= Start && position < End;
}
