// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest';
import { articleNodes } from '../src/article.js';

function render(html) {
  const box = document.createElement('div');
  box.append(...articleNodes(html));
  return box;
}

describe('articleNodes', () => {
  it('keeps structure and text', () => {
    const box = render('<h2>Steps</h2><ol><li>Open <strong>Settings</strong></li><li><code>Reset</code></li></ol>');
    expect(box.innerHTML).toBe('<h2>Steps</h2><ol><li>Open <strong>Settings</strong></li><li><code>Reset</code></li></ol>');
  });

  it('runs nothing and loads nothing', () => {
    const box = render('<p onclick="alert(1)" style="color:red">Hi<script>alert(2)</script><img src="x" onerror="alert(3)"></p>'
      + '<iframe name="x"></iframe><svg><script>alert(4)</script></svg>');
    expect(box.innerHTML).toBe('<p>Hi</p>');
    expect(box.querySelector('[onclick],[style],script,img,iframe,svg')).toBeNull();
  });

  it('turns links into text with their address', () => {
    const box = render('<p>See <a href="https://help.example/vpn">the VPN guide</a> or <a href="javascript:alert(1)">this</a>.</p>');
    expect(box.textContent).toBe('See the VPN guide (https://help.example/vpn) or this.');
    expect(box.querySelector('a')).toBeNull();
  });

  it('shows task boxes as characters and unknown tags as their text', () => {
    const box = render('<ul><li><input type="checkbox" checked disabled> done</li><li><input type="checkbox"> todo</li></ul><details><summary>More</summary>text</details>');
    expect(box.textContent).toBe('☑  done☐  todoMoretext');
    expect(box.querySelector('input,details')).toBeNull();
  });

  it('reads markup in text as text', () => {
    const box = render('<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>');
    expect(box.textContent).toBe('<script>alert(1)</script>');
    expect(box.querySelector('script')).toBeNull();
  });
});
