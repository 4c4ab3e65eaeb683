// The one script of the portal: "Copy" buttons next to values shown once (the PFX password).
// Without JavaScript the buttons stay hidden and the value can be selected by hand.
document.querySelectorAll("button[data-copy]").forEach((button) => {
  const source = document.getElementById(button.dataset.copy);
  if (!source || !navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener("click", async () => {
    await navigator.clipboard.writeText(source.textContent.trim());
    button.textContent = "Copied";
  });
});
