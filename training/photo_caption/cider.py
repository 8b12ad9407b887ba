"""CIDEr-D as pycocoevalcap computes it (sigma 6, clipped counts, x10, document frequencies from
the evaluated references), on word lists already tokenised as it tokenises (`metricTokens`).
For choosing a model on `dev` inside the recipe; published figures come from `beem caption-eval`."""
import math
from collections import Counter


def ngrams(words, n):
    return Counter(tuple(words[i:i + k]) for k in range(1, n + 1) for i in range(len(words) - k + 1))


def cider_d(candidates, references, n=4, sigma=6.0):
    """candidates: {id: [words]}, references: {id: [[words], ...]} -> (mean score, {id: score})."""
    refs = {k: [ngrams(r, n) for r in rs] for k, rs in references.items()}
    df = Counter()
    for rs in refs.values():
        df.update({g for r in rs for g in r})
    log_n = math.log(float(len(refs)))

    def vector(counts):
        vec = [{} for _ in range(n)]
        norm = [0.0] * n
        for g, tf in counts.items():
            k = len(g) - 1
            v = tf * (log_n - math.log(max(1.0, df[g])))
            vec[k][g] = v
            norm[k] += v * v
        # pycocoevalcap's length is the count of bigrams (its `if n == 1` on 0-based n)
        return vec, [math.sqrt(x) for x in norm], sum(tf for g, tf in counts.items() if len(g) == 2)

    scores = {}
    for key, cand in candidates.items():
        vc, nc, lc = vector(ngrams(cand, n))
        total = [0.0] * n
        for r in refs[key]:
            vr, nr, lr = vector(r)
            delta = lc - lr
            for k in range(n):
                dot = sum(min(v, vr[k].get(g, 0.0)) * vr[k].get(g, 0.0) for g, v in vc[k].items())
                if nc[k] != 0 and nr[k] != 0:
                    dot /= nc[k] * nr[k]
                total[k] += dot * math.exp(-(delta ** 2) / (2 * sigma ** 2))
        scores[key] = sum(total) / n / len(refs[key]) * 10.0
    return sum(scores.values()) / max(1, len(scores)), scores
