using System.Text;

namespace Pipeline.Models.Tokenizers;

/// <summary>Unigram language model: Viterbi search for the highest-scoring segmentation.</summary>
internal sealed class UnigramModel : ITokenizerModel
{
    private const double UnknownPenalty = 10.0;

    private readonly Vocabulary _vocab;
    private readonly double[] _scores;
    private readonly int _unkId;
    private readonly bool _byteFallback;
    private readonly double _unkScore;
    private readonly int _maxPieceLength;
    private readonly int[] _byteTokenIds = new int[256];

    public UnigramModel(IReadOnlyList<(string Piece, double Score)> pieces, int unkId, bool byteFallback)
    {
        var toId = new Dictionary<string, int>(pieces.Count);
        _scores = new double[pieces.Count];
        double min = double.MaxValue;
        for (int i = 0; i < pieces.Count; i++)
        {
            toId.TryAdd(pieces[i].Piece, i);
            _scores[i] = pieces[i].Score;
            min = Math.Min(min, pieces[i].Score);
            _maxPieceLength = Math.Max(_maxPieceLength, pieces[i].Piece.Length);
        }
        _vocab = new Vocabulary(toId);
        _unkId = unkId;
        _byteFallback = byteFallback;
        _unkScore = (pieces.Count == 0 ? 0 : min) - UnknownPenalty;
        for (int b = 0; b < 256; b++) _byteTokenIds[b] = _vocab.Id($"<0x{b:X2}>") ?? -1;
    }

    public IEnumerable<KeyValuePair<string, int>> Vocab => _vocab.Entries;

    public string? IdToToken(int id) => _vocab.Token(id);

    public int? TokenToId(string token) => _vocab.Id(token);

    public void Tokenize(string word, List<int> ids)
    {
        int n = word.Length;
        if (n == 0) return;
        var score = new double[n + 1];
        var from = new int[n + 1];
        var tokenId = new int[n + 1];
        Array.Fill(from, -1);
        for (int start = 0; start < n; start++)
        {
            if (start > 0 && from[start] < 0) continue;
            double baseScore = score[start];
            int charLen = char.IsHighSurrogate(word[start]) && start + 1 < n ? 2 : 1;
            bool single = false;
            int maxLen = Math.Min(_maxPieceLength, n - start);
            for (int len = 1; len <= maxLen; len++)
            {
                if (!_vocab.TryGetId(word.AsSpan(start, len), out int id)) continue;
                int end = start + len;
                double candidate = baseScore + _scores[id];
                if (from[end] < 0 || candidate > score[end]) { score[end] = candidate; from[end] = start; tokenId[end] = id; }
                if (len == charLen) single = true;
            }
            if (!single)
            {
                int end = start + charLen;
                double candidate = baseScore + _unkScore;
                if (from[end] < 0 || candidate > score[end]) { score[end] = candidate; from[end] = start; tokenId[end] = _unkId; }
            }
        }
        var path = new List<(int Start, int End, int Id)>();
        for (int end = n; end > 0; end = from[end]) path.Add((from[end], end, tokenId[end]));
        path.Reverse();
        for (int i = 0; i < path.Count; i++)
        {
            var (start, end, id) = path[i];
            if (id != _unkId) { ids.Add(id); continue; }
            while (i + 1 < path.Count && path[i + 1].Id == _unkId) end = path[++i].End;
            if (!_byteFallback || !TryAddBytes(word.AsSpan(start, end - start), ids)) ids.Add(_unkId);
        }
    }

    private bool TryAddBytes(ReadOnlySpan<char> text, List<int> ids)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text.ToArray());
        foreach (byte b in bytes) if (_byteTokenIds[b] < 0) return false;
        foreach (byte b in bytes) ids.Add(_byteTokenIds[b]);
        return true;
    }
}
