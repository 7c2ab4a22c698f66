using Pipeline.Actors.Speech;

namespace Pipeline.Actors.Tests.Speech;

/// <summary>Long audio is cut as vLLM cuts it: at the quietest 100 ms in the last second before each 30 s limit.</summary>
public class AudioChunkerTests
{
    [Fact]
    public void Cuts_at_the_quietest_window_before_each_limit()
    {
        const int rate = 16000;
        var rng = new Random(7);
        var wav = new float[rate * 65];
        for (int i = 0; i < wav.Length; i++) wav[i] = (float)(rng.NextDouble() - 0.5);
        // a quiet stretch at 29.40-29.55 s: the first cut lands in it, at a 1600-sample step of the search window
        for (int i = (int)(29.40 * rate); i < (int)(29.55 * rate); i++) wav[i] *= 0.01f;
        var chunks = AudioChunker.Split(wav, rate);
        Assert.Equal(3, chunks.Count);
        Assert.Equal(0, chunks[0].Start);
        int cut = chunks[0].Length;
        Assert.InRange(cut, (int)(29.40 * rate), (int)(29.55 * rate) - 1600);
        Assert.Equal(cut, chunks[1].Start);
        Assert.All(chunks, c => Assert.True(c.Length <= 30 * rate));
        Assert.Equal(wav.Length, chunks[^1].Start + chunks[^1].Length);
    }

    [Fact]
    public void Short_audio_is_one_chunk()
    {
        var chunks = AudioChunker.Split(new float[16000 * 30], 16000);
        Assert.Equal(new[] { (0, 16000 * 30) }, chunks);
    }
}
